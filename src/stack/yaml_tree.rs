//! A YAML document as a tree that remembers where every node came from.
//!
//! yaml-rust2 does the parsing; this module turns its event stream into a [`Node`] tree that keeps
//! each scalar's source text (so `1.50` stays `"1.50"`, as faas-cli keeps it), the line and column
//! of every node, resolves anchors and aliases, applies `<<` merge keys, and rejects duplicate keys
//! with both positions. The stack decoder reads this tree to give errors and warnings that point at
//! the offending line and column, which serde-based decoding cannot do for keys.
//!
//! Building the tree enforces the bounds of [`super::limits`] (document size, nesting depth, and
//! the nodes and text that anchors and aliases copy), each an error at the node that crosses it.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::limits::{self, MAX_DEPTH, MAX_NODES, MAX_TEXT_BYTES};

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
    if text.len() > limits::MAX_DOCUMENT_BYTES {
        return Err(TreeError { message: limits::too_large(Some(text.len() as u64)), mark: Mark { line: 1, col: 1 } });
    }
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    // Events are pulled one at a time rather than through `Parser::load`, which recurses once per
    // nesting level (10,000 levels of `- ` overflowed the stack before any check could run) and
    // cannot stop early once a limit is crossed.
    loop {
        let (event, marker) =
            parser.next_token().map_err(|e| TreeError { message: e.info().to_string(), mark: (*e.marker()).into() })?;
        if event == Event::StreamEnd {
            break;
        }
        builder.on_event(event, marker);
        if let Some(err) = builder.error.take() {
            return Err(err);
        }
        if builder.done {
            break;
        }
    }
    Ok(builder.root)
}

/// What a subtree costs: its nodes, its scalar bytes (tags included) and how many collections
/// deep it nests (0 for a scalar).
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
    height: usize,
}

impl Size {
    fn scalar(scalar: &Scalar) -> Size {
        Size { nodes: 1, bytes: scalar.text.len() + scalar.tag.as_ref().map_or(0, String::len), height: 0 }
    }

    const COLLECTION: Size = Size { nodes: 1, bytes: 0, height: 1 };

    /// This collection with `child` inside it.
    fn with_child(self, child: Size) -> Size {
        Size {
            nodes: self.nodes + child.nodes,
            bytes: self.bytes + child.bytes,
            height: self.height.max(child.height + 1),
        }
    }
}

enum Open {
    Sequence { mark: Mark, anchor: usize, size: Size, items: Vec<Node> },
    Mapping { mark: Mark, anchor: usize, size: Size, entries: Vec<(Node, Node)>, pending_key: Option<Node> },
}

impl Open {
    fn size_mut(&mut self) -> &mut Size {
        match self {
            Open::Sequence { size, .. } | Open::Mapping { size, .. } => size,
        }
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    /// Anchored nodes by the parser's anchor id, each with its size, for aliases to copy.
    anchors: HashMap<usize, (Node, Size)>,
    /// Nodes and text held so far: parsed, plus every copy anchors and aliases made.
    held: Size,
    root: Option<Node>,
    error: Option<TreeError>,
    done: bool,
}

impl Builder {
    fn on_event(&mut self, ev: Event, marker: Marker) {
        let mark = Mark::from(marker);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let scalar = Scalar {
                    text,
                    plain: style == TScalarStyle::Plain,
                    tag: tag.map(|t: Tag| format!("{}{}", t.handle, t.suffix)),
                };
                let size = Size::scalar(&scalar);
                let node = Node { value: Value::Scalar(scalar), mark };
                if self.spend(size, mark) {
                    self.place(node, size, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).map(|(_, size)| *size) {
                // Counted before the copy is made, so a bomb stops at the first alias too many.
                Some(size) if self.spend(size, mark) => {
                    let mut node = self.anchors[&id].0.clone();
                    node.mark = mark;
                    self.place(node, size, 0);
                }
                Some(_) => {}
                None => self.fail(mark, "unknown anchor".to_string()),
            },
            Event::SequenceStart(anchor, _) => {
                self.open(mark, Open::Sequence { mark, anchor, size: Size::COLLECTION, items: Vec::new() });
            }
            Event::MappingStart(anchor, _) => {
                let size = Size::COLLECTION;
                self.open(mark, Open::Mapping { mark, anchor, size, entries: Vec::new(), pending_key: None });
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::DocumentEnd => self.done = true,
            _ => {}
        }
    }

    fn fail(&mut self, mark: Mark, message: String) {
        self.error.get_or_insert(TreeError { message, mark });
    }

    /// Starts a collection, once the depth is checked and its node counted.
    fn open(&mut self, mark: Mark, open: Open) {
        if self.within_depth(Size::COLLECTION.height, mark) && self.spend(Size::COLLECTION, mark) {
            self.stack.push(open);
        }
    }

    /// False (with the error recorded) when a subtree `height` high placed at the current level
    /// would nest deeper than the limit: a deep collection, or an alias of one inside another.
    fn within_depth(&mut self, height: usize, mark: Mark) -> bool {
        let depth = self.stack.len() + height;
        if depth > MAX_DEPTH {
            self.fail(mark, format!("collections nest {depth} levels deep here; the limit is {MAX_DEPTH}"));
        }
        self.error.is_none()
    }

    /// Counts `size` against the document's node and text limits; false once one is crossed.
    fn spend(&mut self, size: Size, mark: Mark) -> bool {
        self.held.nodes += size.nodes;
        self.held.bytes += size.bytes;
        let copies = "copies made by anchors and aliases count";
        let (nodes, bytes) = (self.held.nodes, self.held.bytes);
        if nodes > MAX_NODES {
            self.fail(mark, format!("the document reaches {nodes} nodes here; the limit is {MAX_NODES} ({copies})"));
        } else if bytes > MAX_TEXT_BYTES {
            let limit = MAX_TEXT_BYTES;
            self.fail(
                mark,
                format!("the document reaches {bytes} bytes of text here; the limit is {limit} ({copies})"),
            );
        }
        self.error.is_none()
    }

    fn close(&mut self) {
        let Some(open) = self.stack.pop() else { return };
        let (node, size, anchor) = match open {
            Open::Sequence { mark, anchor, size, items } => {
                (Node { value: Value::Sequence(items), mark }, size, anchor)
            }
            Open::Mapping { mark, anchor, size, entries, .. } => match finish_mapping(entries) {
                Ok(entries) => (Node { value: Value::Mapping(entries), mark }, size, anchor),
                Err(e) => return self.fail(e.mark, e.message),
            },
        };
        self.place(node, size, anchor);
    }

    /// Puts a finished node (a scalar, an alias's copy or a closed collection) into its parent,
    /// keeping a copy under `anchor` (0 for none) for later aliases.
    fn place(&mut self, node: Node, size: Size, anchor: usize) {
        if !self.within_depth(size.height, node.mark) {
            return;
        }
        if anchor != 0 {
            if !self.spend(size, node.mark) {
                return;
            }
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let Some(parent) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(node);
            }
            return;
        };
        *parent.size_mut() = parent.size_mut().with_child(size);
        match parent {
            Open::Sequence { items, .. } => items.push(node),
            Open::Mapping { entries, pending_key, .. } => match pending_key.take() {
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

    /// The billion-laughs document: `levels` anchors, each a list of nine aliases of the previous.
    pub(crate) fn alias_bomb(levels: usize) -> String {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..=levels {
            let aliases = vec![format!("*a{}", i - 1); 9].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{aliases}]\n"));
        }
        text
    }

    #[test]
    fn alias_bombs_stop_at_the_node_limit_at_the_alias_that_crosses_it() {
        let err = parse(&alias_bomb(8)).unwrap_err();
        assert!(err.message.starts_with("the document reaches "), "{err:?}");
        assert!(err.message.ends_with(" nodes here; the limit is 1000000 (copies made by anchors and aliases count)"));
        // a5 holds 597,871 nodes and its anchor keeps a copy of them: the limit falls in its line.
        assert_eq!(err.mark, Mark { line: 6, col: 9 }, "{err:?}");
        assert!(parse(&alias_bomb(4)).is_ok());
    }

    #[test]
    fn aliases_of_long_text_stop_at_the_text_limit() {
        let long = "x".repeat(1 << 20);
        let mut text = format!("s: &s \"{long}\"\nl:\n");
        for _ in 0..40 {
            text.push_str("  - *s\n");
        }
        let err = parse(&text).unwrap_err();
        // The string and its anchor's copy are 2 MiB; the 30th alias crosses 32 MiB.
        assert_eq!(err.mark, Mark { line: 2 + 30, col: 5 }, "{err:?}");
        assert!(
            err.message
                .ends_with("bytes of text here; the limit is 33554432 (copies made by anchors and aliases count)")
        );
    }

    #[test]
    fn nesting_is_bounded_in_block_and_flow_style_and_through_aliases() {
        let nested = |depth: usize| format!("{}x\n", "- ".repeat(depth));
        assert!(parse(&nested(128)).is_ok());
        let err = parse(&nested(100_000)).unwrap_err();
        assert_eq!(err.message, "collections nest 129 levels deep here; the limit is 128");
        assert_eq!(err.mark, Mark { line: 1, col: 257 });
        let err = parse(&format!("{}{}", "[".repeat(129), "]".repeat(129))).unwrap_err();
        assert!(err.message.contains("129 levels deep"), "{err:?}");
        // Each alias is shallow where it is written, but holds a deep copy.
        let deep = format!("a: &a {}x{}\nb: &b [[[[*a]]]]\n", "[".repeat(100), "]".repeat(100));
        assert!(parse(&deep).is_ok());
        let err = parse(&format!("{deep}c: [[[[[[[[[[[[[[[[[[[[[[[[[*b]]]]]]]]]]]]]]]]]]]]]]]]]\n")).unwrap_err();
        assert_eq!(err.message, "collections nest 130 levels deep here; the limit is 128");
        assert_eq!(err.mark, Mark { line: 3, col: 29 });
    }

    #[test]
    fn documents_over_the_size_limit_are_refused_before_parsing() {
        let err = parse(&" ".repeat(limits::MAX_DOCUMENT_BYTES + 1)).unwrap_err();
        assert_eq!(err.mark, Mark { line: 1, col: 1 });
        assert_eq!(
            err.message,
            "the document is 16777217 bytes, over the limit of 16777216 bytes (16 MiB) for a YAML document"
        );
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.mark.line >= 1, "{err:?}");
    }
}
