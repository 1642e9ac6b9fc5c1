//! A YAML document as a tree that remembers where every node came from.
//!
//! yaml-rust2 does the parsing; this module turns its event stream into a [`Node`] tree that keeps
//! each scalar's source text (so `1.50` stays `"1.50"`, as faas-cli keeps it), the line and column
//! of every node, resolves anchors and aliases, applies `<<` merge keys, and rejects duplicate keys
//! with both positions. The stack decoder reads this tree to give errors and warnings that point at
//! the offending line and column, which serde-based decoding cannot do for keys.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    pub line: usize,
    pub col: usize,
}

impl From<Marker> for Mark {
    fn from(m: Marker) -> Self {
        Mark { line: m.line(), col: m.col() + 1 }
    }
}

/// One node of the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub mark: Mark,
}

/// The content of a node. Mapping entries keep their source order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(Scalar),
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

/// A scalar exactly as written: its text and whether it was quoted.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    pub plain: bool,
    pub tag: Option<String>,
}

impl Scalar {
    /// True for `~`, `null`, `Null`, `NULL` and an empty plain scalar (`key:`).
    pub fn is_null(&self) -> bool {
        self.plain && self.tag.is_none() && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

impl Node {
    /// The mapping value stored under `key`, if this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Mapping(entries) => {
                entries.iter().find(|(k, _)| k.as_scalar().is_some_and(|s| s.text == key)).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(Scalar::is_null)
    }

    /// A short noun for error messages: "a mapping", "a list", "a string".
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar(s) if s.is_null() => "nothing (null)",
            Value::Scalar(_) => "a scalar",
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a mapping",
        }
    }
}

/// Why a document could not be turned into a tree.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TreeError {
    pub message: String,
    pub mark: Mark,
}

/// Parses the first document of `text`. `Ok(None)` means the text holds no document at all.
pub fn parse(text: &str) -> Result<Option<Node>, TreeError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, false)
        .map_err(|e| TreeError { message: e.info().to_string(), mark: (*e.marker()).into() })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.root)
}

enum Open {
    Sequence { mark: Mark, anchor: usize, items: Vec<Node> },
    Mapping { mark: Mark, anchor: usize, entries: Vec<(Node, Node)>, pending_key: Option<Node> },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<TreeError>,
    done: bool,
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, marker: Marker) {
        if self.error.is_some() || self.done {
            return;
        }
        let mark = Mark::from(marker);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let node = Node {
                    value: Value::Scalar(Scalar {
                        text,
                        plain: style == TScalarStyle::Plain,
                        tag: tag.map(|t: Tag| format!("{}{}", t.handle, t.suffix)),
                    }),
                    mark,
                };
                self.remember(anchor, &node);
                self.push(node);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(node) => {
                    let mut node = node.clone();
                    node.mark = mark;
                    self.push(node);
                }
                None => self.fail(mark, "unknown anchor".to_string()),
            },
            Event::SequenceStart(anchor, _) => self.stack.push(Open::Sequence { mark, anchor, items: Vec::new() }),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Open::Mapping { mark, anchor, entries: Vec::new(), pending_key: None })
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::DocumentEnd => self.done = true,
            _ => {}
        }
    }
}

impl Builder {
    fn fail(&mut self, mark: Mark, message: String) {
        self.error.get_or_insert(TreeError { message, mark });
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn close(&mut self) {
        let Some(open) = self.stack.pop() else { return };
        let (node, anchor) = match open {
            Open::Sequence { mark, anchor, items } => (Node { value: Value::Sequence(items), mark }, anchor),
            Open::Mapping { mark, anchor, entries, .. } => match finish_mapping(entries) {
                Ok(entries) => (Node { value: Value::Mapping(entries), mark }, anchor),
                Err(e) => return self.fail(e.mark, e.message),
            },
        };
        self.remember(anchor, &node);
        self.push(node);
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Open::Sequence { items, .. }) => items.push(node),
            Some(Open::Mapping { entries, pending_key, .. }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
}

fn key_text(node: &Node) -> Option<&str> {
    node.as_scalar().map(|s| s.text.as_str())
}

fn is_merge_key(node: &Node) -> bool {
    node.as_scalar().is_some_and(|s| s.plain && s.text == "<<")
}

/// Rejects duplicate keys, then applies `<<` merge keys: explicit keys win over merged ones, and
/// earlier merge sources win over later ones, as the YAML merge-key spec says.
fn finish_mapping(entries: Vec<(Node, Node)>) -> Result<Vec<(Node, Node)>, TreeError> {
    let mut own: Vec<(Node, Node)> = Vec::with_capacity(entries.len());
    let mut merges: Vec<Node> = Vec::new();
    let mut seen: HashMap<String, Mark> = HashMap::new();
    for (key, value) in entries {
        if is_merge_key(&key) {
            merges.push(value);
            continue;
        }
        if let Some(text) = key_text(&key) {
            if let Some(first) = seen.get(text) {
                return Err(TreeError {
                    message: format!("mapping key \"{text}\" already defined at line {}", first.line),
                    mark: key.mark,
                });
            }
            seen.insert(text.to_string(), key.mark);
        }
        own.push((key, value));
    }
    for source in merges {
        let sources = match source.value {
            Value::Mapping(_) => vec![source],
            Value::Sequence(items) => items,
            Value::Scalar(_) => {
                return Err(TreeError {
                    message: "a merge key (<<) needs a mapping or a list of mappings".into(),
                    mark: source.mark,
                });
            }
        };
        for map in sources {
            let Value::Mapping(merged) = map.value else {
                return Err(TreeError {
                    message: "a merge key (<<) list may only hold mappings".into(),
                    mark: map.mark,
                });
            };
            for (key, value) in merged {
                let text = key_text(&key).unwrap_or_default().to_string();
                if let std::collections::hash_map::Entry::Vacant(slot) = seen.entry(text) {
                    slot.insert(key.mark);
                    own.push((key, value));
                }
            }
        }
    }
    Ok(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_at<'a>(node: &'a Node, path: &[&str]) -> &'a Scalar {
        let mut n = node;
        for p in path {
            n = n.get(p).unwrap_or_else(|| panic!("missing {p}"));
        }
        n.as_scalar().expect("scalar")
    }

    #[test]
    fn keeps_scalar_source_text() {
        let root = parse("a: 1.50\nb: 0o17\nc: 2024-01-01\nd: 'x'\ne:\n").unwrap().unwrap();
        assert_eq!(scalar_at(&root, &["a"]).text, "1.50");
        assert_eq!(scalar_at(&root, &["b"]).text, "0o17");
        assert_eq!(scalar_at(&root, &["c"]).text, "2024-01-01");
        assert!(!scalar_at(&root, &["d"]).plain);
        assert!(scalar_at(&root, &["e"]).is_null());
    }

    #[test]
    fn marks_are_one_based_lines_and_columns() {
        let root = parse("top:\n  inner: value\n").unwrap().unwrap();
        let inner = root.get("top").unwrap().get("inner").unwrap();
        assert_eq!(inner.mark, Mark { line: 2, col: 10 });
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.message, "mapping key \"a\" already defined at line 1");
        assert_eq!(err.mark.line, 3);
    }

    #[test]
    fn merge_keys_and_aliases_apply_with_explicit_keys_winning() {
        let text = "base: &b\n  x: 1\n  y: 2\nf:\n  <<: *b\n  y: 3\n";
        let root = parse(text).unwrap().unwrap();
        assert_eq!(scalar_at(&root, &["f", "x"]).text, "1");
        assert_eq!(scalar_at(&root, &["f", "y"]).text, "3");
    }

    #[test]
    fn merge_list_earlier_source_wins() {
        let text = "a: &a {k: 1}\nb: &b {k: 2, j: 5}\nc:\n  <<: [*a, *b]\n";
        let root = parse(text).unwrap().unwrap();
        assert_eq!(scalar_at(&root, &["c", "k"]).text, "1");
        assert_eq!(scalar_at(&root, &["c", "j"]).text, "5");
    }

    #[test]
    fn empty_text_has_no_document() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.mark.line >= 1, "{err:?}");
    }
}
