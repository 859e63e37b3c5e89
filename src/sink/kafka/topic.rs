//! Topic templating, Beats style: `wirebeat-%{[data_stream.dataset]}`. Only the fields an
//! [`EncodedEvent`](crate::ecs::EncodedEvent) carries outside its JSON can be used, so no event
//! is parsed again: `data_stream.dataset` and its twin `event.dataset`.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Dataset,
}

/// A parsed topic template with the topic of every dataset seen so far.
#[derive(Debug, Clone)]
pub struct TopicTemplate {
    parts: Vec<Part>,
    cache: HashMap<&'static str, String>,
}

/// Kafka's rule for topic names.
fn legal(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

const MAX_TOPIC_LEN: usize = 249;

impl TopicTemplate {
    pub fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find("%{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| format!("unclosed %{{ in {template:?}"))?;
            let field = after[..end].trim();
            let field = field.strip_prefix('[').and_then(|f| f.strip_suffix(']')).unwrap_or(field);
            match field {
                "data_stream.dataset" | "event.dataset" => parts.push(Part::Dataset),
                other => {
                    return Err(format!(
                        "field {other:?} cannot be used in a topic; use %{{[data_stream.dataset]}} \
                         or %{{[event.dataset]}}"
                    ))
                }
            }
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        if parts.is_empty() {
            return Err("must not be empty".into());
        }
        for p in &parts {
            if let Part::Literal(l) = p {
                if let Some(c) = l.chars().find(|c| !legal(*c)) {
                    return Err(format!(
                        "{template:?} contains {c:?}; topic names use only letters, digits, '.', \
                         '_' and '-'"
                    ));
                }
            }
        }
        let fixed: usize =
            parts.iter().map(|p| if let Part::Literal(l) = p { l.len() } else { 0 }).sum();
        if fixed > MAX_TOPIC_LEN {
            return Err(format!("{template:?} is longer than {MAX_TOPIC_LEN} characters"));
        }
        Ok(TopicTemplate { parts, cache: HashMap::new() })
    }

    /// The topic for an event of this dataset, or why there is none.
    pub fn render(&mut self, dataset: &'static str) -> Result<&str, String> {
        if !self.cache.contains_key(dataset) {
            let mut topic = String::new();
            for p in &self.parts {
                match p {
                    Part::Literal(l) => topic.push_str(l),
                    Part::Dataset => topic.push_str(dataset),
                }
            }
            if topic.is_empty() || topic.len() > MAX_TOPIC_LEN || !topic.chars().all(legal) {
                return Err(format!("dataset {dataset:?} gives an invalid topic name {topic:?}"));
            }
            self.cache.insert(dataset, topic);
        }
        Ok(self.cache.get(dataset).map(String::as_str).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dataset_fields() {
        let mut t = TopicTemplate::parse("wirebeat-%{[data_stream.dataset]}").unwrap();
        assert_eq!(t.render("network_traffic.flow").unwrap(), "wirebeat-network_traffic.flow");
        assert_eq!(t.render("network_traffic.dns").unwrap(), "wirebeat-network_traffic.dns");
        assert_eq!(t.render("network_traffic.flow").unwrap(), "wirebeat-network_traffic.flow");
        let mut t = TopicTemplate::parse("%{[event.dataset]}").unwrap();
        assert_eq!(t.render("network_traffic.http").unwrap(), "network_traffic.http");
        let mut t = TopicTemplate::parse("a-%{event.dataset}-b").unwrap();
        assert_eq!(t.render("x").unwrap(), "a-x-b");
        let mut t = TopicTemplate::parse("fixed").unwrap();
        assert_eq!(t.render("network_traffic.flow").unwrap(), "fixed");
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in ["", "a%{[host.name]}", "a%{[data_stream.dataset]", "a b", "a/b", "ü"] {
            assert!(TopicTemplate::parse(bad).is_err(), "{bad:?}");
        }
        assert!(TopicTemplate::parse(&"x".repeat(250)).is_err());
        let mut t = TopicTemplate::parse("%{[data_stream.dataset]}").unwrap();
        assert!(t.render("bad name").is_err());
        assert!(t.render("").is_err());
    }
}
