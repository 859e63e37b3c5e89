use super::*;

#[test]
fn query_values_are_escaped() {
    assert_eq!(query_escape("my-pipeline_1.0"), "my-pipeline_1.0");
    assert_eq!(query_escape("a b&c"), "a%20b%26c");
}
