//! One shared copy of each claim value that many tokens carry alike — issuer, audience, tenant,
//! client, version, token type, scopes, roles, groups, key id — so that the verified-token cache
//! holds a pointer per value and token instead of a copy (the cache is what bounds the gateway's
//! memory under many distinct tokens). Per-token values (`oid`, `sub`, `uti`) are not shared.
//!
//! Bounded: past `capacity` distinct values, new ones are simply not shared. Only values of
//! signature-verified tokens reach it. `sweep` (run with the cache's sweep) forgets the values no
//! token holds any more.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

pub struct ClaimInterner {
    values: Mutex<HashSet<Arc<str>>>,
    capacity: usize,
}

impl ClaimInterner {
    pub fn new(capacity: usize) -> Self {
        ClaimInterner { values: Mutex::new(HashSet::new()), capacity }
    }

    /// The shared copy of `value` (made now if there is room).
    pub fn intern(&self, value: &str) -> Arc<str> {
        let Ok(mut values) = self.values.lock() else {
            return Arc::from(value);
        };
        if let Some(shared) = values.get(value) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(value);
        if values.len() < self.capacity {
            values.insert(shared.clone());
        }
        shared
    }

    /// Forgets the values only this interner still holds; returns how many remain.
    pub fn sweep(&self) -> usize {
        match self.values.lock() {
            Ok(mut values) => {
                values.retain(|v| Arc::strong_count(v) > 1);
                values.len()
            }
            Err(_) => 0,
        }
    }

    pub fn len(&self) -> usize {
        self.values.lock().map_or(0, |v| v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_one_copy_until_no_one_holds_it() {
        let interner = ClaimInterner::new(10);
        let a = interner.intern("api://orders");
        let b = interner.intern("api://orders");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*a, "api://orders");
        assert_eq!(interner.sweep(), 1, "still held");
        drop((a, b));
        assert_eq!(interner.sweep(), 0, "no token holds it any more");
    }

    #[test]
    fn past_its_capacity_values_are_not_shared_but_still_returned() {
        let interner = ClaimInterner::new(1);
        let first = interner.intern("one");
        let (x, y) = (interner.intern("two"), interner.intern("two"));
        assert_eq!((&*x, &*y), ("two", "two"));
        assert!(!Arc::ptr_eq(&x, &y));
        assert!(Arc::ptr_eq(&first, &interner.intern("one")));
        assert_eq!(interner.len(), 1);
    }
}
