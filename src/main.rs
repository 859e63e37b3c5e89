fn main() {
    std::process::exit(wirebeat::cli::main());
}
