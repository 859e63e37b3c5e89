//! Pure parsing of POP3 lines (RFC 1939, 2449 CAPA, 5034 AUTH, 2595 STLS): a command and its
//! arguments, a status line (`+OK` / `-ERR`, or a `+ ` SASL challenge), and which commands
//! are answered by a multi-line response ended by a lone `.`.

/// A client command: the keyword uppercased (1 to 8 letters) and the rest of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub name: String,
    pub args: String,
}

pub fn parse_command(l: &[u8]) -> Option<Command> {
    let n = l.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if n == 0 || n > 8 || l.get(n).is_some_and(|b| *b != b' ') {
        return None;
    }
    Some(Command {
        name: String::from_utf8_lossy(l.get(..n)?).to_ascii_uppercase(),
        args: String::from_utf8_lossy(l.get(n..).unwrap_or_default()).trim().chars().take(1024).collect(),
    })
}

/// A server status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Ok(String),
    Err(String),
    /// `+ …`: a SASL challenge during AUTH.
    Challenge,
}

pub fn parse_status(l: &[u8]) -> Option<Status> {
    let text = |n: usize| String::from_utf8_lossy(l.get(n..).unwrap_or_default()).trim().chars().take(512).collect();
    if l.get(..3).is_some_and(|h| h.eq_ignore_ascii_case(b"+OK")) {
        Some(Status::Ok(text(3)))
    } else if l.get(..4).is_some_and(|h| h.eq_ignore_ascii_case(b"-ERR")) {
        Some(Status::Err(text(4)))
    } else if l == b"+" || l.starts_with(b"+ ") {
        Some(Status::Challenge)
    } else {
        None
    }
}

/// Whether `+OK` to this command is followed by lines up to a lone `.`.
pub fn multi_line(name: &str, args: &str) -> bool {
    match name {
        "RETR" | "TOP" | "CAPA" => true,
        "LIST" | "UIDL" | "AUTH" => args.is_empty(),
        _ => false,
    }
}
