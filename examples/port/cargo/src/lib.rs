//! A tiny library with a few unit tests, ported to smoltest by
//! examples/port/cargo/smoltest.yaml.

pub fn add(a: i64, b: i64) -> i64 {
    a + b
}

pub fn sub(a: i64, b: i64) -> i64 {
    a - b
}

pub fn div(a: i64, b: i64) -> Option<i64> {
    if b == 0 {
        None
    } else {
        Some(a / b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 3), 5);
    }

    #[test]
    fn subtracts() {
        assert_eq!(sub(2, 3), -1);
    }

    #[test]
    fn divides() {
        assert_eq!(div(7, 2), Some(3));
        assert_eq!(div(1, 0), None);
    }
}
