//! The runtime a part renders in: lookups borrow from the CRM data instead of copying it.
//!
//! Liquid's own runtime (`liquid::Template::render_to`) copies every value it looks up out of the data: a new
//! string for each `{{ lead.name }}`, and for `{{ lead }}` a hash map that prints its keys in a different order
//! on each render. This one answers a view into the data (`data::Map`). What `assign` and `capture` set, and
//! the counters of `increment`/`decrement`, live here as Liquid values, as in Liquid's runtime: an assigned
//! name hides the data's, counters have their own names.

use std::cell::RefCell;
use std::collections::BTreeSet;

use liquid_core::error::{Error, Result};
use liquid_core::model::{self, KString, KStringCow, KStringRef, Object, ObjectView, ScalarCow, Value, ValueCow};
use liquid_core::runtime::{PartialStore, Registers, Runtime, RuntimeCore};

use super::data::Map;

/// The root frame of one render.
pub(crate) struct Frame<'d> {
    core: RuntimeCore<'static>,
    data: &'d Map<'d>,
    assigned: RefCell<Object>,
    counters: RefCell<Object>,
}

impl<'d> Frame<'d> {
    /// A frame over `data` (whose lookups never fail: unknown keys read as empty).
    pub(crate) fn new(data: &'d Map<'d>) -> Self {
        Self {
            core: RuntimeCore::default(),
            data,
            assigned: RefCell::new(Object::new()),
            counters: RefCell::new(Object::new()),
        }
    }

    fn is_assigned(&self, path: &[ScalarCow<'_>]) -> bool {
        let assigned = self.assigned.borrow();
        !assigned.is_empty()
            && path
                .first()
                .is_some_and(|key| assigned.contains_key(super::data::key_of(key).as_ref()))
    }
}

impl Runtime for Frame<'_> {
    fn partials(&self) -> &dyn PartialStore {
        self.core.partials()
    }

    fn name(&self) -> Option<KStringRef<'_>> {
        None
    }

    fn roots(&self) -> BTreeSet<KStringCow<'_>> {
        let mut roots: BTreeSet<KStringCow<'_>> = self.data.keys().collect();
        roots.extend(self.assigned.borrow().keys().map(|k| KStringCow::from(k.clone())));
        roots
    }

    fn try_get(&self, path: &[ScalarCow<'_>]) -> Option<ValueCow<'_>> {
        if self.is_assigned(path) {
            // The borrow of the assigned values ends here: answer a copy, as Liquid does.
            let assigned = self.assigned.borrow();
            return model::try_find(assigned.as_value(), path).map(|v| ValueCow::Owned(v.into_owned()));
        }
        match self.data.lookup(path) {
            Some(found) => Some(ValueCow::Borrowed(found)),
            None => model::try_find(self.data.as_value(), path),
        }
    }

    fn get(&self, path: &[ScalarCow<'_>]) -> Result<ValueCow<'_>> {
        if path.is_empty() {
            return Err(Error::with_msg("Unknown variable").context("requested variable", "nil"));
        }
        if self.is_assigned(path) {
            let assigned = self.assigned.borrow();
            return model::find(assigned.as_value(), path).map(|v| ValueCow::Owned(v.into_owned()));
        }
        match self.data.lookup(path) {
            Some(found) => Ok(ValueCow::Borrowed(found)),
            None => model::find(self.data.as_value(), path),
        }
    }

    fn set_global(&self, name: KString, val: Value) -> Option<Value> {
        self.assigned.borrow_mut().insert(name, val)
    }

    fn set_index(&self, name: KString, val: Value) -> Option<Value> {
        self.counters.borrow_mut().insert(name, val)
    }

    fn get_index<'a>(&'a self, name: &str) -> Option<ValueCow<'a>> {
        self.counters.borrow().get(name).map(|v| ValueCow::Owned(v.clone()))
    }

    fn registers(&self) -> &Registers {
        self.core.registers()
    }
}
