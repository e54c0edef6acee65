//! The tables every signal's store shares: interned strings (names, keys, short values),
//! resources and instrumentation scopes.
//!
//! One catalog serves spans, log records and metric series alike, so a resource that sends all
//! three is stored once and a service has one name everywhere. The tables only grow while data
//! arrives; [`Catalog::begin_compaction`] hands out a [`Remap`] that every store walks its live
//! data through, and [`Catalog::finish_compaction`] keeps what was reached: compaction sees the
//! whole catalog and every user of it, never one signal's share alone.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};

use crate::model::{Attr, Resource, ResourceId, Scope, ScopeId, Sym, Value};

/// String values up to this many bytes are interned (longer ones are stored as they are).
pub const MAX_INTERNED_VALUE: usize = 64;

/// The tables are compacted once they hold this many entries more than were live at the last
/// compaction (and at least this many in all).
pub const COMPACT_FLOOR: usize = 64 * 1024;

/// Interned strings.
#[derive(Default)]
pub struct Interner {
    strings: Vec<Arc<str>>,
    ids: FxHashMap<Arc<str>, Sym>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.ids.get(s) {
            return sym;
        }
        let sym = Sym(u32::try_from(self.strings.len()).unwrap_or(u32::MAX));
        let arc: Arc<str> = Arc::from(s);
        self.strings.push(Arc::clone(&arc));
        self.ids.insert(arc, sym);
        sym
    }

    #[must_use]
    pub fn get(&self, sym: Sym) -> &str {
        self.strings.get(sym.0 as usize).map_or("", |s| s)
    }

    /// The symbol of a string already interned.
    #[must_use]
    pub fn lookup(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.strings.iter().map(|s| &**s)
    }
}

/// The shared tables. See the module docs.
#[derive(Default)]
pub struct Catalog {
    pub strings: Interner,
    resources: Vec<Resource>,
    resource_ids: FxHashMap<u64, Vec<ResourceId>>,
    scopes: Vec<Scope>,
    scope_ids: FxHashMap<Scope, ScopeId>,
    /// Table size past which [`Catalog::wants_compaction`] says yes.
    compact_at: usize,
    /// Times the tables were rebuilt from live data.
    pub compactions: u64,
}

impl Catalog {
    #[must_use]
    pub fn str(&self, sym: Sym) -> &str {
        self.strings.get(sym)
    }

    pub fn intern(&mut self, s: &str) -> Sym {
        self.strings.intern(s)
    }

    #[must_use]
    pub fn resource(&self, id: ResourceId) -> &Resource {
        &self.resources[id.0 as usize]
    }

    #[must_use]
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    #[must_use]
    pub fn scope(&self, id: ScopeId) -> &Scope {
        &self.scopes[id.0 as usize]
    }

    /// The service name of a resource.
    #[must_use]
    pub fn service(&self, id: ResourceId) -> &str {
        self.str(self.resource(id).service)
    }

    pub fn intern_scope(&mut self, name: &str, version: &str) -> ScopeId {
        let scope = Scope {
            name: self.strings.intern(name),
            version: self.strings.intern(version),
        };
        if let Some(&id) = self.scope_ids.get(&scope) {
            return id;
        }
        let id = ScopeId(u32::try_from(self.scopes.len()).unwrap_or(u32::MAX));
        self.scopes.push(scope.clone());
        self.scope_ids.insert(scope, id);
        id
    }

    /// The resource with these attributes (in this order), added if new.
    pub fn intern_resource(&mut self, attrs: &[(&str, Value)]) -> ResourceId {
        let key = resource_key(attrs.iter().map(|(k, v)| (*k, v)));
        if let Some(candidates) = self.resource_ids.get(&key) {
            for &id in candidates {
                let stored = &self.resources[id.0 as usize];
                let same = stored.attrs.len() == attrs.len()
                    && stored.attrs.iter().zip(attrs).all(|(a, (k, v))| {
                        self.strings.get(a.key()) == *k && self.value_eq(&a.value(), v)
                    });
                if same {
                    return id;
                }
            }
        }
        let service = attrs
            .iter()
            .find(|(k, _)| *k == "service.name")
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("unknown_service");
        let service = self.strings.intern(service);
        let stored = self.attrs(attrs.iter().map(|(k, v)| (*k, v.clone())));
        let id = ResourceId(u32::try_from(self.resources.len()).unwrap_or(u32::MAX));
        self.resources.push(Resource {
            service,
            attrs: stored,
        });
        self.resource_ids.entry(key).or_default().push(id);
        id
    }

    /// A value as stored: short strings interned.
    pub fn value(&mut self, v: Value) -> Value {
        match v {
            Value::Str(s) if s.len() <= MAX_INTERNED_VALUE => Value::Sym(self.strings.intern(&s)),
            other => other,
        }
    }

    /// Attributes as stored: keys interned, short string values too.
    pub fn attrs<'a>(
        &mut self,
        attrs: impl ExactSizeIterator<Item = (&'a str, Value)>,
    ) -> Box<[Attr]> {
        // Built in an exactly sized allocation (a shrunk vector keeps its block with mimalloc).
        let mut out = Vec::with_capacity(attrs.len());
        for (k, v) in attrs {
            let key = self.strings.intern(k);
            let value = self.value(v);
            out.push(Attr::new(key, value));
        }
        out.into_boxed_slice()
    }

    /// A stored value with an interned string read back as a plain string value.
    #[must_use]
    pub fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::Sym(s) => Value::Str(self.str(*s).into()),
            other => other.clone(),
        }
    }

    /// A stored value's text, as shown to the user.
    #[must_use]
    pub fn value_text<'a>(&'a self, v: &'a Value) -> std::borrow::Cow<'a, str> {
        match v {
            Value::Sym(s) => std::borrow::Cow::Borrowed(self.str(*s)),
            Value::Str(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(other.to_string()),
        }
    }

    /// Whether a stored value equals an incoming one.
    fn value_eq(&self, stored: &Value, new: &Value) -> bool {
        match (stored, new) {
            (Value::Sym(s), Value::Str(t)) => self.str(*s) == t.as_str(),
            (a, b) => a == b,
        }
    }

    /// Whether the tables have grown well past what was live at the last compaction.
    #[must_use]
    pub fn wants_compaction(&self) -> bool {
        let threshold = self.compact_at.max(COMPACT_FLOOR);
        self.strings.len() > threshold
            || self.resources.len() > threshold
            || self.scopes.len() > threshold
    }

    /// Starts a compaction: the old tables move into the [`Remap`], which builds new ones from
    /// what the stores hand it.
    pub fn begin_compaction(&mut self) -> Remap {
        let old = std::mem::take(&mut self.strings);
        let n = old.len();
        Remap {
            old,
            new: Interner::default(),
            map: vec![u32::MAX; n],
            old_resources: std::mem::take(&mut self.resources),
            resource_map: Vec::new(),
            resources: Vec::new(),
            old_scopes: std::mem::take(&mut self.scopes),
            scope_map: Vec::new(),
            scopes: Vec::new(),
        }
    }

    /// Ends a compaction: keeps only what the stores reached through `remap`.
    pub fn finish_compaction(&mut self, remap: Remap) {
        self.strings = remap.new;
        self.resources = remap.resources;
        self.scopes = remap.scopes;
        let mut resource_ids: FxHashMap<u64, Vec<ResourceId>> = FxHashMap::default();
        for (i, r) in self.resources.iter().enumerate() {
            let resolved: Vec<(&str, Value)> = r
                .attrs
                .iter()
                .map(|a| (self.strings.get(a.key()), self.resolve(&a.value())))
                .collect();
            let key = resource_key(resolved.iter().map(|(k, v)| (*k, v)));
            resource_ids
                .entry(key)
                .or_default()
                .push(ResourceId(u32::try_from(i).unwrap_or(u32::MAX)));
        }
        self.resource_ids = resource_ids;
        self.scope_ids = self
            .scopes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), ScopeId(u32::try_from(i).unwrap_or(u32::MAX))))
            .collect();
        self.compact_at = 2 * self
            .strings
            .len()
            .max(self.resources.len())
            .max(self.scopes.len());
        self.compactions += 1;
    }
}

/// Old symbols, resources and scopes to new, filled on demand while the stores walk their live
/// data (see [`Catalog::begin_compaction`]).
pub struct Remap {
    old: Interner,
    new: Interner,
    map: Vec<u32>,
    old_resources: Vec<Resource>,
    resource_map: Vec<u32>,
    resources: Vec<Resource>,
    old_scopes: Vec<Scope>,
    scope_map: Vec<u32>,
    scopes: Vec<Scope>,
}

impl Remap {
    pub fn sym(&mut self, sym: Sym) -> Sym {
        let Some(slot) = self.map.get_mut(sym.0 as usize) else {
            return self.new.intern("");
        };
        if *slot == u32::MAX {
            *slot = self.new.intern(self.old.get(sym)).0;
        }
        Sym(*slot)
    }

    pub fn attrs(&mut self, attrs: &mut [Attr]) {
        for a in attrs {
            let key = a.key_mut();
            *key = self.sym(*key);
            if let Attr::Sym { value, .. } = a {
                *value = self.sym(*value);
            }
        }
    }

    pub fn resource(&mut self, id: ResourceId) -> ResourceId {
        if self.resource_map.is_empty() {
            self.resource_map = vec![u32::MAX; self.old_resources.len()];
        }
        let i = id.0 as usize;
        if self.resource_map[i] == u32::MAX {
            let mut res = self.old_resources[i].clone();
            res.service = self.sym(res.service);
            self.attrs(&mut res.attrs);
            self.resource_map[i] = u32::try_from(self.resources.len()).unwrap_or(u32::MAX);
            self.resources.push(res);
        }
        ResourceId(self.resource_map[i])
    }

    pub fn scope(&mut self, id: ScopeId) -> ScopeId {
        if self.scope_map.is_empty() {
            self.scope_map = vec![u32::MAX; self.old_scopes.len()];
        }
        let i = id.0 as usize;
        if self.scope_map[i] == u32::MAX {
            let old = self.old_scopes[i].clone();
            let scope = Scope {
                name: self.sym(old.name),
                version: self.sym(old.version),
            };
            self.scope_map[i] = u32::try_from(self.scopes.len()).unwrap_or(u32::MAX);
            self.scopes.push(scope);
        }
        ScopeId(self.scope_map[i])
    }
}

/// The hash under which a resource with these attributes is found.
fn resource_key<'a>(attrs: impl Iterator<Item = (&'a str, &'a Value)>) -> u64 {
    let mut h = FxHasher::default();
    for (k, v) in attrs {
        k.hash(&mut h);
        hash_value(v, &mut h);
    }
    h.finish()
}

fn hash_value(v: &Value, h: &mut FxHasher) {
    std::mem::discriminant(v).hash(h);
    match v {
        Value::Str(s) => s.hash(h),
        Value::Sym(s) => s.hash(h),
        Value::Bool(b) => b.hash(h),
        Value::Int(i) => i.hash(h),
        Value::Double(d) => d.to_bits().hash(h),
        Value::Bytes(b) => b.hash(h),
        Value::Array(items) => items.iter().for_each(|i| hash_value(i, h)),
        Value::Map(items) => items.iter().for_each(|(k, v)| {
            k.hash(h);
            hash_value(v, h);
        }),
        Value::Empty => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_resources_are_interned_once() {
        let mut c = Catalog::default();
        let a = c.intern_resource(&[("service.name", Value::Str("a".into()))]);
        let again = c.intern_resource(&[("service.name", Value::Str("a".into()))]);
        let b = c.intern_resource(&[("service.name", Value::Str("b".into()))]);
        assert_eq!(a, again);
        assert_ne!(a, b);
        assert_eq!(c.service(b), "b");
        let none = c.intern_resource(&[]);
        assert_eq!(c.service(none), "unknown_service");
    }

    #[test]
    fn compaction_keeps_what_is_reached_and_renumbers_it() {
        let mut c = Catalog::default();
        let dead = c.intern_resource(&[("service.name", Value::Str("gone".into()))]);
        let live = c.intern_resource(&[
            ("service.name", Value::Str("kept".into())),
            ("host", Value::Str("h1".into())),
        ]);
        let scope = c.intern_scope("lib", "1.0");
        let name = c.intern("span name");
        let _ = c.intern("unused");
        assert_ne!(dead, live);
        let mut remap = c.begin_compaction();
        let (live, scope, name) = (remap.resource(live), remap.scope(scope), remap.sym(name));
        c.finish_compaction(remap);
        assert_eq!(c.resources().len(), 1);
        assert_eq!(c.service(live), "kept");
        assert_eq!(c.str(name), "span name");
        assert_eq!(c.str(c.scope(scope).name), "lib");
        assert!(c.strings.iter().all(|s| s != "unused" && s != "gone"));
        // A resource sent again after compaction finds the compacted entry.
        let again = c.intern_resource(&[
            ("service.name", Value::Str("kept".into())),
            ("host", Value::Str("h1".into())),
        ]);
        assert_eq!(again, live);
        assert_eq!(c.intern_scope("lib", "1.0"), scope);
    }
}
