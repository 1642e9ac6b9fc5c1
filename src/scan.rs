//! A byte cursor for the small hand-written matchers of [`crate::go_yaml`] and
//! [`crate::stack::rules`].
//!
//! Those checks run on every `generate` and stack load; compiling their regexes on first use was
//! about a third of `rfaas generate`'s instructions (issue 13), more than the matching itself.
//! Each matcher's unit tests compare it with the regex it replaced, on every short string over
//! the characters that matter.

/// A position in an ASCII pattern match over `bytes`.
pub(crate) struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scan { bytes: text.as_bytes(), at: 0 }
    }

    /// True when the whole text has been consumed.
    pub(crate) fn done(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// The next byte, if any, without consuming it.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Consumes the next byte when it is one of `set`.
    pub(crate) fn eat_any(&mut self, set: &[u8]) -> bool {
        match self.peek() {
            Some(b) if set.contains(&b) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    /// Consumes the next byte when `pred` accepts it.
    pub(crate) fn eat_if(&mut self, pred: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(b) if pred(b) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    /// Consumes up to `max` bytes that `pred` accepts and returns how many it took.
    pub(crate) fn eat_while(&mut self, max: usize, pred: impl Fn(u8) -> bool) -> usize {
        let start = self.at;
        while self.at - start < max && self.eat_if(&pred) {}
        self.at - start
    }

    /// Consumes `min..=max` bytes that `pred` accepts; false (and nothing consumed) when fewer
    /// than `min` are there.
    pub(crate) fn eat_between(&mut self, min: usize, max: usize, pred: impl Fn(u8) -> bool) -> bool {
        let start = self.at;
        if self.eat_while(max, pred) >= min {
            true
        } else {
            self.at = start;
            false
        }
    }

    /// Consumes a decimal number without sign or exponent, `[0-9]+(\.[0-9]*)?|\.[0-9]+` (the
    /// mantissa of YAML floats and of Kubernetes quantities); false when there is none, and then
    /// at most a lone `.` has been consumed (callers fail the whole match then).
    pub(crate) fn eat_decimal(&mut self) -> bool {
        let digit = |b: u8| b.is_ascii_digit();
        if self.eat_while(usize::MAX, digit) > 0 {
            if self.eat_any(b".") {
                self.eat_while(usize::MAX, digit);
            }
            true
        } else {
            self.eat_any(b".") && self.eat_while(usize::MAX, digit) > 0
        }
    }

    /// The text not consumed yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    /// Every string of up to `len` characters drawn from `alphabet`.
    pub(crate) fn strings(alphabet: &str, len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..len {
            last = last.iter().flat_map(|s| alphabet.chars().map(move |c| format!("{s}{c}"))).collect();
            all.extend(last.iter().cloned());
        }
        all
    }
}
