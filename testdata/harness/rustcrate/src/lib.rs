//! A tiny crate for volley's libtest harness tests: passing, failing,
//! ignored and nested-module tests, and one that aborts when
//! RUSTCRATE_CRASH is set.

/// Adds two numbers.
pub fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes() {
        assert_eq!(add(2, 2), 4);
    }

    #[test]
    fn fails() {
        assert_eq!(add(2, 2), 5, "arithmetic is broken");
    }

    #[test]
    #[ignore]
    fn ignored_plain() {}

    #[test]
    #[ignore = "needs a network"]
    fn ignored_with_reason() {}

    #[test]
    fn prints_lookalike() {
        println!("test tests::not_real ... FAILED");
    }

    #[test]
    fn maybe_crashes() {
        if std::env::var_os("RUSTCRATE_CRASH").is_some() {
            std::process::abort();
        }
    }

    #[test]
    fn passes_again() {}

    mod nested {
        mod deeper {
            #[test]
            fn deep_pass() {
                assert!(true);
            }
        }

        #[test]
        #[should_panic(expected = "boom")]
        fn panics_as_expected() {
            panic!("boom");
        }
    }
}
