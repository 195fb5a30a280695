//! The tally of one category: cases, cases as expected, unexpected allows, and what went
//! wrong, printed as one summary row and asserted at the end.

/// Counts for one category of bad inputs.
pub struct Tally {
    category: &'static str,
    cases: usize,
    as_expected: usize,
    unexpected_allows: usize,
    failures: Vec<String>,
}

impl Tally {
    pub fn new(category: &'static str) -> Self {
        Self { category, cases: 0, as_expected: 0, unexpected_allows: 0, failures: Vec::new() }
    }

    /// Records one case: `ok` when the observed outcome is the expected one, `unexpected_allow`
    /// when the input was let through although the case expected a refusal.
    pub fn record(&mut self, name: &str, ok: bool, unexpected_allow: bool, detail: &str) {
        self.cases += 1;
        if ok {
            self.as_expected += 1;
        } else {
            self.failures.push(format!("{name}: {detail}"));
        }
        if unexpected_allow {
            self.unexpected_allows += 1;
            self.failures.push(format!("{name}: UNEXPECTED ALLOW"));
        }
    }

    /// A check outside the table (e.g. "the upstream saw N requests") that must hold.
    pub fn require(&mut self, what: &str, ok: bool, detail: &str) {
        if !ok {
            self.failures.push(format!("{what}: {detail}"));
        }
    }

    /// Prints the summary row and fails the test unless every case was as expected, with at
    /// least `min_cases` cases and no unexpected allow.
    pub fn finish(self, min_cases: usize) {
        println!(
            "bad inputs | {:<18} | cases {:>3} | as expected {:>3} | unexpected allows {}",
            self.category, self.cases, self.as_expected, self.unexpected_allows
        );
        for f in &self.failures {
            println!("  FAILED {}: {f}", self.category);
        }
        assert_eq!(self.unexpected_allows, 0, "{}: unexpected allows", self.category);
        assert!(self.failures.is_empty(), "{}: {} failures", self.category, self.failures.len());
        assert!(self.cases >= min_cases, "{}: only {} cases", self.category, self.cases);
    }
}
