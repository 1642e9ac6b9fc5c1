//! Kubernetes resource quantities (`128Mi`, `0.5`, `100m`, `1E3`, `+5Mi`), parsed exactly.
//!
//! The grammar is Kubernetes': an optional sign, a decimal number (`1`, `1.5`, `.5`, `5.`), then
//! one suffix: binary (`Ki` `Mi` `Gi` `Ti` `Pi` `Ei`), decimal (`m` `k` `M` `G` `T` `P` `E`, or
//! none) or a decimal exponent (`e3`, `E-3`). The value is kept as an exact fraction, so callers
//! can tell `1m` bytes (a fraction of a byte) from a whole number instead of rounding it to 0.
//! Up to 20 significant digits and exponents up to 18 are accepted, which keeps every
//! intermediate product inside `u128`; that is far beyond any real CPU count or memory size.

/// A non-negative quantity as the exact fraction `num / den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    num: u128,
    den: u128,
}

/// Why a quantity was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityError {
    /// Not the Kubernetes quantity grammar.
    Syntax,
    /// Below zero.
    Negative,
    /// More than 20 significant digits, or an exponent beyond 18.
    OutOfRange,
}

const MAX_DIGITS: usize = 20;
const MAX_EXPONENT: u32 = 18;

impl Quantity {
    /// Parses `text` (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        let t = text.trim();
        let (negative, t) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
        let (number, suffix) = t.split_at(split);
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(QuantityError::Syntax);
        }
        let frac = frac.trim_end_matches('0');
        let digits = format!("{whole}{frac}");
        let significant = digits.trim_start_matches('0');
        if significant.len() > MAX_DIGITS || frac.len() > MAX_DIGITS {
            return Err(QuantityError::OutOfRange);
        }
        let mantissa: u128 =
            if significant.is_empty() { 0 } else { significant.parse().map_err(|_| QuantityError::Syntax)? };
        let (times, per) = factor(suffix)?;
        let q = Quantity { num: mantissa * times, den: 10u128.pow(frac.len() as u32) * per };
        if negative && q.num != 0 {
            return Err(QuantityError::Negative);
        }
        Ok(q)
    }

    /// The value when it is a whole number.
    pub fn whole(&self) -> Option<u128> {
        self.num.is_multiple_of(self.den).then_some(self.num / self.den)
    }

    /// True when the value is at least `n / d` (`d` > 0).
    pub fn at_least(&self, n: u128, d: u128) -> bool {
        fraction_at_least(self.num, self.den, n, d)
    }

    /// The value times `scale`, rounded up and saturated at `i64::MAX`.
    pub fn scaled_up(&self, scale: u128) -> i64 {
        let (q, r) = (self.num / self.den, self.num % self.den);
        // r < den, so the fraction's share is at most `scale`; f64 only past 2^128.
        let fraction = match r.checked_mul(scale) {
            Some(n) => n.div_ceil(self.den),
            None => ((r as f64 / self.den as f64) * scale as f64).ceil() as u128,
        };
        let total = q.checked_mul(scale).and_then(|n| n.checked_add(fraction));
        total.and_then(|n| i64::try_from(n).ok()).unwrap_or(i64::MAX)
    }
}

/// `a / b >= c / d` without overflow: compare the whole parts, then the reciprocals of the
/// remainders (the steps of Euclid's algorithm, so a handful of iterations).
fn fraction_at_least(a: u128, b: u128, c: u128, d: u128) -> bool {
    let (qa, ra, qc, rc) = (a / b, a % b, c / d, c % d);
    if qa != qc {
        return qa > qc;
    }
    if rc == 0 {
        return true;
    }
    if ra == 0 {
        return false;
    }
    // ra/b >= rc/d  <=>  d/rc >= b/ra
    fraction_at_least(d, rc, b, ra)
}

/// `(multiplier, divisor)` of a suffix.
fn factor(suffix: &str) -> Result<(u128, u128), QuantityError> {
    let decimal = |e: u32| 10u128.pow(e);
    Ok(match suffix {
        "" => (1, 1),
        "m" => (1, 1000),
        "k" => (decimal(3), 1),
        "M" => (decimal(6), 1),
        "G" => (decimal(9), 1),
        "T" => (decimal(12), 1),
        "P" => (decimal(15), 1),
        "E" => (decimal(18), 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        _ => return exponent(suffix),
    })
}

/// `e<signed integer>` or `E<signed integer>`.
fn exponent(suffix: &str) -> Result<(u128, u128), QuantityError> {
    let rest = suffix.strip_prefix(['e', 'E']).ok_or(QuantityError::Syntax)?;
    let (negative, digits) = match rest.as_bytes().first() {
        Some(b'-') => (true, &rest[1..]),
        Some(b'+') => (false, &rest[1..]),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QuantityError::Syntax);
    }
    let e = digits.trim_start_matches('0');
    if e.len() > 2 {
        return Err(QuantityError::OutOfRange);
    }
    let e: u32 = if e.is_empty() { 0 } else { e.parse().map_err(|_| QuantityError::Syntax)? };
    if e > MAX_EXPONENT {
        return Err(QuantityError::OutOfRange);
    }
    Ok(if negative { (1, 10u128.pow(e)) } else { (10u128.pow(e), 1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str) -> Option<u128> {
        Quantity::parse(text).unwrap().whole()
    }

    #[test]
    fn kubernetes_forms() {
        assert_eq!(whole("128Mi"), Some(128 << 20));
        assert_eq!(whole("1G"), Some(1_000_000_000));
        assert_eq!(whole("1E3"), Some(1000), "an exponent, not exa");
        assert_eq!(whole("1E"), Some(1_000_000_000_000_000_000), "exa");
        assert_eq!(whole("2e+2"), Some(200));
        assert_eq!(whole("+5Mi"), Some(5 << 20));
        assert_eq!(whole("0.5Gi"), Some(1 << 29));
        assert_eq!(whole(".5Ki"), Some(512));
        assert_eq!(whole("5."), Some(5));
        assert_eq!(whole("1.500k"), Some(1500));
        assert_eq!(whole(" 64Mi "), Some(64 << 20));
        assert_eq!(whole("-0"), Some(0));
        assert_eq!(whole("0.000"), Some(0));
        for fractional in ["0.4", "1m", "1e-10", "1.5"] {
            assert_eq!(whole(fractional), None, "{fractional}");
        }
        assert_eq!(whole("2000m"), Some(2));
        assert_eq!(whole("1500m"), None);
    }

    #[test]
    fn refusals() {
        for bad in ["", "lots", ".", "1..5", "1.2.3", "1K", "1mi", "1 Mi", "Mi", "1e", "1e1.5", "0x10", "inf", "NaN"] {
            assert_eq!(Quantity::parse(bad), Err(QuantityError::Syntax), "{bad}");
        }
        assert_eq!(Quantity::parse("-1"), Err(QuantityError::Negative));
        assert_eq!(Quantity::parse("-5Mi"), Err(QuantityError::Negative));
        assert_eq!(Quantity::parse("1e19"), Err(QuantityError::OutOfRange));
        assert_eq!(Quantity::parse("1e99999999999"), Err(QuantityError::OutOfRange));
        assert_eq!(Quantity::parse(&"9".repeat(21)), Err(QuantityError::OutOfRange));
        assert_eq!(Quantity::parse(&format!("0.{}1", "0".repeat(20))), Err(QuantityError::OutOfRange));
        // The largest accepted quantity does not overflow.
        let big = Quantity::parse(&format!("{}Ei", "9".repeat(20))).unwrap();
        assert_eq!(big.whole(), Some(99_999_999_999_999_999_999 << 60));
        assert_eq!(big.scaled_up(1_000_000_000), i64::MAX);
    }

    #[test]
    fn comparisons_and_scaling_are_exact() {
        let milli = Quantity::parse("1m").unwrap();
        assert!(milli.at_least(1, 1000));
        assert!(!Quantity::parse("0.9999m").unwrap().at_least(1, 1000));
        assert_eq!(milli.scaled_up(1_000_000_000), 1_000_000);
        assert_eq!(Quantity::parse("1.0000000001").unwrap().scaled_up(1_000_000_000), 1_000_000_001);
        assert_eq!(Quantity::parse("0.5").unwrap().scaled_up(1_000_000_000), 500_000_000);
        assert_eq!(Quantity::parse("1e-10").unwrap().scaled_up(1_000_000_000), 1, "rounded up");
        assert!(fraction_at_least(7, 3, 2, 1) && !fraction_at_least(5, 3, 7, 4) && fraction_at_least(6, 4, 3, 2));
    }
}
