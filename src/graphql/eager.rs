//! Objects whose fields resolve side by side in one allocation, in the order they were asked.
//!
//! async-graphql resolves an object by boxing one future per selected field and running them in
//! a `FuturesUnordered` (an `Arc`'d task each), then inserting each value as it finishes. Most
//! of our fields read data already in hand and are ready on their first poll, so for a page of
//! messages that machinery cost more than the fields themselves. [`Eager`] resolves the same
//! fields through the same derived `resolve_field` (arguments, guards, errors and loaders all
//! as before), but keeps the fields' futures in one slice (`join_all`) and writes the values in
//! selection order, the order the GraphQL spec gives a response's keys (async-graphql's own
//! follows completion, so a field that waits on a loader moves to the end).
//!
//! Leaf fields that read only the object's own data ([`Leaves`]) skip even that: their values
//! are written into the response while the object's other fields are gathered, without a
//! future, a field context or the derived resolver's dispatch on the field's name. Where
//! objects are written as JSON (below), so do objects the object already holds whose selected
//! fields are leaves in turn ([`Child`]: a message's sender, loaded with its page), and a list
//! (or a connection's edges) whose items are all such objects is written at once, into one
//! buffer, with no future per item (a history page's 50 messages and their senders: 29 % of
//! its instructions, with the cursors' shared head).
//!
//! The items of a list share one reading of their selection (its fields, fragments expanded),
//! and every object's keys are hashed once per request and selection ([`Shapes`]).
//! Over HTTP, an object is written as JSON as soon as it is resolved, and its leaves ([`Leaf`])
//! straight into that JSON, where the document allows it ([`Shapes::written`]).
//!
//! Connections of such objects ([`EagerConnection`]) answer their `edges` and `nodes` the
//! same way: the edges' selection is read once per list, the cursors are written at once, and
//! only the nodes are awaited (measured: 7.8 % of a history page's instructions).
//!
//! This is written by hand because async-graphql offers no hook: the derived object's
//! `OutputType::resolve` always goes through its own `resolve_container`. It uses the
//! `#[doc(hidden)]` context fields that async-graphql's derived code uses itself. Where a
//! request needs more than this does (a field carrying a directive other than `@skip` and
//! `@include`, which async-graphql strips before executing), it hands the object to
//! async-graphql's own resolver. It does not call schema extensions' per-field hooks: the
//! schema has no extensions (see [`crate::graphql::schema_builder`]).

use std::borrow::Cow;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::indexmap::IndexMap;
use async_graphql::indexmap::map::Entry;
use async_graphql::indexmap::map::raw_entry_v1::{RawEntryApiV1, RawEntryMut};
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::{MetaType, Registry};
use async_graphql::resolver_utils::resolve_container;
use async_graphql::{
    ContainerType, Context, ContextSelectionSet, Name, ObjectType, OutputType, Positioned,
    ScalarType, ServerError, ServerResult, Value,
};
use chrono::{DateTime, Datelike, Timelike, Utc};
use futures_util::future::join_all;
use uuid::Uuid;

use super::json;

/// The leaf fields an object answers from the data it holds: no arguments, no context,
/// nothing to wait for. [`resolve_object`] writes their values straight into the response.
///
/// A leaf's value must be the one its resolver gives: debug builds (the test suites) resolve
/// every leaf both ways and panic when they differ.
pub trait Leaves {
    /// The value of the field `name` (as the schema spells it) when it is one of this
    /// object's leaves; `None` sends the field through the object's resolver.
    fn leaf(&self, name: &str) -> Option<Leaf<'_>>;

    /// The object the field `name` (asked without arguments) resolves to when this object
    /// already holds it, such as a message's sender loaded with its page; `None` (the
    /// default) sends the field through the object's resolver. When the child's selected
    /// fields are all leaves (or children in hand in turn), it is written at once, without a
    /// future, a field context or its own reading of the selection ([`Plan::children`]).
    ///
    /// The object must be the one the field's resolver gives, ready at once: debug builds
    /// resolve the field both ways and panic when they differ.
    fn child(&self, _name: &str) -> Option<Child<'_>> {
        None
    }
}

impl<T: Leaves> Leaves for &T {
    fn leaf(&self, name: &str) -> Option<Leaf<'_>> {
        (**self).leaf(name)
    }

    fn child(&self, name: &str) -> Option<Child<'_>> {
        (**self).child(name)
    }
}

/// An object a field resolves to, in hand ([`Leaves::child`]).
pub struct Child<'a> {
    /// Its GraphQL type: the child is written this way only where it is the field's type.
    type_name: Cow<'static, str>,
    object: &'a (dyn Leaves + Sync),
}

impl<'a> Child<'a> {
    /// `object`, an [`Eager`] object's inner value.
    pub fn of<T: OutputType + Leaves + Sync>(object: &'a T) -> Self {
        Self {
            type_name: T::type_name(),
            object,
        }
    }
}

/// A leaf field's value, borrowed from the object where it can be: made into a `Value` for a
/// response built as values, or written straight into one written as JSON (see [`Shapes`])
/// without a `String` of its own.
#[derive(Clone, Debug)]
pub enum Leaf<'a> {
    /// An `ID`, as `ID`'s own resolver writes it; null for `None`.
    Id(Option<Uuid>),
    /// A `String`; null for `None`.
    Text(Option<&'a str>),
    /// A `DateTime`, as async-graphql's scalar writes it; null for `None`.
    Time(Option<DateTime<Utc>>),
    /// Any other value (numbers, enums), as its resolver gives it.
    Value(Value),
}

impl From<Value> for Leaf<'_> {
    fn from(value: Value) -> Self {
        Self::Value(value)
    }
}

impl Leaf<'_> {
    /// A scalar field's value: null, or the scalar's own `to_value`, as its resolver gives it.
    pub fn scalar<T: ScalarType>(value: Option<&T>) -> Self {
        Self::Value(value.map_or(Value::Null, ScalarType::to_value))
    }

    /// The value, as the field's resolver gives it.
    pub fn into_value(self) -> Value {
        match self {
            Self::Id(None) | Self::Text(None) | Self::Time(None) => Value::Null,
            Self::Id(Some(id)) => {
                // uuid's own encoder into a buffer on the stack, then one allocation of the
                // exact size: `to_string` goes through `fmt`, about 100 instructions more.
                let mut text = Uuid::encode_buffer();
                Value::String(id.hyphenated().encode_lower(&mut text).to_owned())
            }
            Self::Text(Some(text)) => Value::String(text.to_owned()),
            Self::Time(Some(time)) => match rfc3339(&time, &mut [0; 35]) {
                Some(text) => Value::String(String::from_utf8_lossy(text).into_owned()),
                None => ScalarType::to_value(&time),
            },
            Self::Value(value) => value,
        }
    }

    /// The value, after checking that [`Self::write`] writes it as [`json::write_value`] does
    /// (panics if not; debug builds and tests only).
    #[cfg(any(debug_assertions, test))]
    fn checked_value(self) -> Value {
        let mut written = Vec::new();
        let shown = format!("{self:?}");
        self.clone().write(&mut written);
        let value = self.into_value();
        let mut expected = Vec::new();
        json::write_value(&mut expected, &value);
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&expected),
            "{shown} written as JSON"
        );
        value
    }

    /// Appends the value to `out` as JSON, as [`json::write_value`] writes
    /// [`Self::into_value`]: ids and times, which JSON never escapes, are copied as they are.
    pub fn write(self, out: &mut Vec<u8>) {
        let quoted = |out: &mut Vec<u8>, text: &[u8]| {
            out.push(b'"');
            out.extend_from_slice(text);
            out.push(b'"');
        };
        match self {
            Self::Id(None) | Self::Text(None) | Self::Time(None) => out.extend_from_slice(b"null"),
            Self::Id(Some(id)) => {
                let mut text = Uuid::encode_buffer();
                quoted(out, id.hyphenated().encode_lower(&mut text).as_bytes());
            }
            Self::Text(Some(text)) => json::write_str(out, text),
            Self::Time(Some(time)) => match rfc3339(&time, &mut [0; 35]) {
                Some(text) => quoted(out, text),
                None => json::write_value(out, &ScalarType::to_value(&time)),
            },
            Self::Value(value) => json::write_value(out, &value),
        }
    }
}

/// `time` as async-graphql's `DateTime` scalar writes it (chrono's `to_rfc3339`: the seconds,
/// a fraction of 3, 6 or 9 digits unless it is zero, and `+00:00`), written into `text` digit
/// by digit: `to_rfc3339` goes through chrono's formatter, about 860 instructions a value
/// against 470 here (2.5 % of a history page's instructions saved). `None` for years outside
/// 0–9999 and leap seconds, which it writes in other forms. ASCII, and JSON never escapes it.
fn rfc3339<'t>(time: &DateTime<Utc>, text: &'t mut [u8; 35]) -> Option<&'t [u8]> {
    // The stored UTC date and time: `DateTime`'s own accessors add the offset (zero) again
    // for each field asked.
    let naive = time.naive_utc();
    let (date, clock) = (naive.date(), naive.time());
    let (year, nanos) = (date.year(), clock.nanosecond());
    let (Ok(year @ 0..=9999), 0..=999_999_999) = (u32::try_from(year), nanos) else {
        return None;
    };
    // The fraction's digits and their number: none, milli-, micro- or nanoseconds.
    let (fraction, width) = match nanos {
        0 => (0, 0),
        _ if nanos % 1_000_000 == 0 => (nanos / 1_000_000, 3),
        _ if nanos % 1_000 == 0 => (nanos / 1_000, 6),
        _ => (nanos, 9),
    };
    let mut at = 0;
    let mut put = |value: u32, width: usize, then: &[u8]| {
        let mut rest = value;
        for slot in text[at..at + width].iter_mut().rev() {
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        text[at + width..at + width + then.len()].copy_from_slice(then);
        at += width + then.len();
    };
    put(year, 4, b"-");
    put(date.month(), 2, b"-");
    put(date.day(), 2, b"T");
    put(clock.hour(), 2, b":");
    put(clock.minute(), 2, b":");
    put(clock.second(), 2, if width > 0 { b"." } else { b"" });
    put(fraction, width, b"+00:00");
    Some(&text[..at])
}

/// What [`Eager`] resolves: an object type of async-graphql's with [`Leaves`].
pub trait EagerObject: ObjectType + ContainerType + Leaves {}

impl<T: ObjectType + ContainerType + Leaves> EagerObject for T {}

/// An object type resolved field by field in one `join_all`; the same GraphQL type as `T`.
pub struct Eager<T>(pub T);

impl<T> From<T> for Eager<T> {
    fn from(inner: T) -> Self {
        Self(inner)
    }
}

impl<T: EagerObject> OutputType for Eager<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        // Boxed as `dyn`: an object's fields may hold objects of its own type (a message's
        // `replyTo`), and the future's type may not contain itself.
        let object: Pin<Box<dyn Future<Output = ServerResult<Value>> + Send + '_>> =
            Box::pin(resolve_object(ctx, &self.0));
        object.await
    }
}

impl<T: EagerObject> ContainerType for Eager<T> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        self.0.resolve_field(ctx).await
    }
}

impl<T: EagerObject> ObjectType for Eager<T> {}

/// Resolves the selection set `ctx` on the object `root`: every selected field, fragments
/// included; leaves from `root`'s data at once, the others through `T::resolve_field`, all
/// polled together. Errors are reported on the context and leave their key out, as
/// async-graphql's own resolver does.
pub async fn resolve_object<'a, T: ContainerType + Leaves>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
) -> ServerResult<Value> {
    let type_name = root.introspection_type_name();
    match Plan::of(ctx, &type_name)? {
        Some(plan) => Ok(resolve_planned(ctx, root, &type_name, &plan).await),
        None => resolve_container(ctx, root).await,
    }
}

/// What a selection set selects on one object type: its fields in order, fragments expanded,
/// and the shape of the object they make. Read once for all the objects of a list.
struct Plan<'a> {
    /// The fields, in selection order.
    fields: Vec<&'a Positioned<Field>>,
    /// The object's keys.
    shape: Arc<Shape>,
    /// For the fields that may resolve to an object in hand ([`Leaves::child`]: no
    /// arguments, an object type), by index in `fields`: that type and the plan of the
    /// field's selection on it. Read with the plan, so the children of a list's items share
    /// one reading as the items do.
    children: Vec<(usize, &'a str, Plan<'a>)>,
}

impl<'a> Plan<'a> {
    /// The plan of the selection set `ctx` on the object type `type_name`; `None` when a field
    /// carries a directive, which only async-graphql's resolver applies.
    fn of(ctx: &ContextSelectionSet<'a>, type_name: &str) -> ServerResult<Option<Self>> {
        Self::of_set(ctx, ctx.item, type_name)
    }

    /// [`Plan::of`] the selection set `set` (of the request of `ctx`).
    fn of_set(
        ctx: &ContextSelectionSet<'a>,
        set: &'a Positioned<SelectionSet>,
        type_name: &str,
    ) -> ServerResult<Option<Self>> {
        let mut fields = Vec::with_capacity(set.node.items.len());
        if !collect(ctx, set, type_name, &mut fields)? {
            return Ok(None);
        }
        let shape = Shapes::shape(ctx, set, type_name, &fields);
        let mut children = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            let Some(child_type) = object_field_type(ctx, type_name, field) else {
                continue;
            };
            // A selection this cannot read goes through the field's resolver, which reports
            // what is wrong with it.
            if let Ok(Some(plan)) = Self::of_set(ctx, &field.node.selection_set, child_type) {
                children.push((i, child_type, plan));
            }
        }
        Ok(Some(Self {
            fields,
            shape,
            children,
        }))
    }

    /// The type of the `i`th field's object and the plan of its selection, when the field
    /// may resolve to an object in hand.
    fn child_plan(&self, i: usize) -> Option<(&'a str, &Plan<'a>)> {
        let (_, type_name, plan) = self.children.iter().find(|(at, ..)| *at == i)?;
        Some((type_name, plan))
    }

    /// The object in hand of the `i`th field, `field`, of `root`, with its type and plan.
    fn child<'r>(
        &self,
        root: &'r (impl Leaves + ?Sized),
        i: usize,
        field: &Positioned<Field>,
    ) -> Option<(Child<'r>, &'a str, &Plan<'a>)> {
        let (type_name, plan) = self.child_plan(i)?;
        let child = root.child(field.node.name.node.as_str())?;
        (child.type_name == type_name).then_some((child, type_name, plan))
    }

    /// The `i`th field, `field`, of `root` written as JSON when it resolves to an object
    /// `root` holds whose selected fields are all at hand ([`write_now`]).
    fn child_now(
        &self,
        root: &(impl Leaves + ?Sized),
        i: usize,
        field: &Positioned<Field>,
    ) -> Option<Value> {
        let (child, type_name, plan) = self.child(root, i, field)?;
        let mut out = Vec::with_capacity(plan.shape.longest.load(Ordering::Relaxed));
        write_now(&mut out, child.object, type_name, plan).then(|| Value::Binary(out.into()))
    }

    /// The plan a list's items share, or `None` where each item goes through async-graphql's
    /// resolver: a directive, or an unknown fragment, which it reports on every item.
    fn for_items(ctx: &ContextSelectionSet<'a>, type_name: &str) -> Option<Self> {
        Self::of(ctx, type_name).ok().flatten()
    }
}

/// Resolves `plan`, read from the selection set of `ctx`, on the object `root` of the type
/// `type_name`, as [`resolve_object`] describes.
async fn resolve_planned<'a, T: ContainerType + Leaves>(
    ctx: &ContextSelectionSet<'a>,
    root: &'a T,
    type_name: &str,
    plan: &Plan<'a>,
) -> Value {
    // In selection order: a leaf's value, or `None` for a field whose future runs.
    let mut answered = Vec::with_capacity(plan.fields.len());
    let mut pending = Vec::with_capacity(plan.fields.len());
    for (i, &field) in plan.fields.iter().enumerate() {
        if let Some(value) = leaf(root, type_name, field) {
            #[cfg(debug_assertions)]
            check_leaf(ctx, root, field, value.clone()).await;
            answered.push(Some(value));
        } else if let Some(value) = plan.child_now(root, i, field) {
            #[cfg(debug_assertions)]
            check_child(ctx, root, field, &value);
            answered.push(Some(Leaf::Value(value)));
        } else {
            answered.push(None);
            pending.push(resolve_field(ctx, root, field));
        }
    }
    let resolved = join_all(pending).await;
    plan.shape.assemble(ctx, answered, resolved)
}

/// Appends `root` under `plan` to `out` as JSON, as [`Shape::write`] writes it, when every
/// field is a leaf or an object in hand whose fields are in turn: no future, no field
/// context, and the objects in hand written in place rather than each into a buffer of its
/// own and copied. `false`, with `out` as it was, when the request's objects are not written
/// as JSON or a field needs its resolver.
fn write_now(
    out: &mut Vec<u8>,
    root: &(impl Leaves + ?Sized),
    type_name: &str,
    plan: &Plan<'_>,
) -> bool {
    // An object of no fields is null ([`Shape::write`]): left to its resolver.
    let (Some(keys), false) = (plan.shape.written.as_deref(), plan.fields.is_empty()) else {
        return false;
    };
    let start = out.len();
    out.push(b'{');
    for (i, (&field, &slot)) in plan.fields.iter().zip(&plan.shape.slots).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&keys[slot]);
        if let Some(value) = leaf(root, type_name, field) {
            value.write(out);
            continue;
        }
        let written = plan
            .child(root, i, field)
            .is_some_and(|(child, type_name, plan)| write_now(out, child.object, type_name, plan));
        if !written {
            out.truncate(start);
            return false;
        }
    }
    out.push(b'}');
    plan.shape
        .longest
        .fetch_max(out.len() - start, Ordering::Relaxed);
    true
}

/// The object type (not a list, interface or union) of the field `field` of the object type
/// `type_name`, when it is asked without arguments: the fields whose value may be a
/// [`Child`] in hand.
fn object_field_type<'a>(
    ctx: &ContextSelectionSet<'a>,
    type_name: &str,
    field: &Positioned<Field>,
) -> Option<&'a str> {
    let field = &field.node;
    if !field.arguments.is_empty() || field.selection_set.node.items.is_empty() {
        return None;
    }
    let registry = &ctx.schema_env.registry;
    let Some(MetaType::Object { fields, .. }) = registry.types.get(type_name) else {
        return None;
    };
    let ty = fields.get(field.name.node.as_str())?.ty.as_str();
    // A list's type (`[T!]!`) is no type's name.
    match registry.types.get(ty.strip_suffix('!').unwrap_or(ty))? {
        MetaType::Object { name, .. } => Some(name.as_str()),
        _ => None,
    }
}

/// The response keys of the objects one request resolves, by selection set and type, hashed
/// once: hashing each object's keys again (SipHash, the only hasher of async-graphql's
/// `IndexMap`) was 14 % of a history page's instructions. One per request, in its data (the
/// gateway puts it there); without it each object hashes its own keys.
///
/// Selection sets are told apart by address: they belong to the request's document, which
/// neither moves nor changes while the request runs, and the cache goes with the request.
///
/// For a response that [`super::json`] writes (HTTP's), whose document asks no key twice in
/// one selection set, the objects are written as JSON while they resolve ([`Shapes::written`]).
#[derive(Default)]
pub struct Shapes {
    /// Whether objects are written as JSON (see [`Shape::assemble`]).
    written: bool,
    known: Mutex<Vec<(usize, String, Arc<Shape>)>>,
}

impl Shapes {
    /// The shapes of a request whose objects are written as JSON as soon as they are
    /// resolved, and handed up as `Value::Binary` (which [`super::json`] copies as it is):
    /// building each object as an `IndexMap` of `Value`s, writing it, then dropping it, was
    /// the largest part left of a history page's instructions. Only for a response that
    /// [`super::json`] writes, and a document that asks no response key twice in a selection
    /// set (the objects' values never merge; [`super::limits::Kept::unique_keys`]).
    pub fn written() -> Self {
        Self {
            written: true,
            ..Self::default()
        }
    }

    /// The shape of `fields`, collected from the selection set `set` (of the request of `ctx`)
    /// for the type `type_name`: the request's copy if it has one.
    fn shape(
        ctx: &ContextSelectionSet<'_>,
        set: &Positioned<SelectionSet>,
        type_name: &str,
        fields: &[&Positioned<Field>],
    ) -> Arc<Shape> {
        let Some(shapes) = ctx.data_opt::<Self>() else {
            return Arc::new(Shape::new(fields.iter().copied(), false));
        };
        let set = std::ptr::from_ref(set).addr();
        let mut known = shapes.known.lock().unwrap_or_else(PoisonError::into_inner);
        let found = known
            .iter()
            .find(|(s, t, _)| *s == set && t == type_name)
            .map(|(_, _, shape)| shape.clone());
        let shape = found.unwrap_or_else(|| {
            let shape = Arc::new(Shape::new(fields.iter().copied(), shapes.written));
            known.push((set, type_name.to_owned(), shape.clone()));
            shape
        });
        #[cfg(debug_assertions)]
        shape.check(fields.iter().copied());
        shape
    }
}

/// An object's response keys with their hashes, and which key each selected field fills.
struct Shape {
    /// The hasher of every object map made from this shape, so that the hashes hold for them.
    hasher: RandomState,
    /// Each key once, in selection order, with its hash.
    keys: Vec<(Name, u64)>,
    /// For each field in selection order, the index of its key in `keys`.
    slots: Vec<usize>,
    /// For objects written as JSON: each key of `keys` as JSON, with its colon.
    written: Option<Vec<Box<[u8]>>>,
    /// The longest object written from this shape, in bytes: the next one's first capacity.
    longest: AtomicUsize,
}

/// The most bytes of JSON written before that an object written as JSON may copy from its
/// fields' values. Above it the object is built as a map and written with the response:
/// each object copies its fields' JSON into its own, so a big list would be copied once for
/// every object around it.
const MAX_COPIED: usize = 4 * 1024;

impl Shape {
    /// The shape of these fields, in selection order; its objects are `written` as JSON if
    /// no key is selected twice.
    fn new<'a>(fields: impl Iterator<Item = &'a Positioned<Field>>, written: bool) -> Self {
        let hasher = RandomState::new();
        let mut keys: Vec<(Name, u64)> = Vec::new();
        let slots: Vec<usize> = fields
            .map(|field| {
                let key = &field.node.response_key().node;
                keys.iter().position(|(k, _)| k == key).unwrap_or_else(|| {
                    keys.push((key.clone(), hasher.hash_one(key)));
                    keys.len() - 1
                })
            })
            .collect();
        let written = (written && keys.len() == slots.len()).then(|| {
            keys.iter()
                .map(|(key, _)| {
                    let mut json = Vec::with_capacity(key.len() + 3);
                    json::write_str(&mut json, key);
                    json.push(b':');
                    json.into_boxed_slice()
                })
                .collect()
        });
        Self {
            hasher,
            keys,
            slots,
            written,
            longest: AtomicUsize::new(0),
        }
    }

    /// Panics unless these are the fields the shape was made for (debug builds only).
    #[cfg(debug_assertions)]
    fn check<'a>(&self, fields: impl Iterator<Item = &'a Positioned<Field>>) {
        let keys: Vec<_> = fields.map(|f| &f.node.response_key().node).collect();
        let mine: Vec<_> = self.slots.iter().map(|&i| &self.keys[i].0).collect();
        assert_eq!(keys, mine, "a shape of other fields");
    }

    /// An object's value from its fields in selection order: `answered` holds each field's
    /// value, or `None` where the next of `resolved` goes. A field that failed is reported on
    /// `ctx` and leaves its key out; a key selected twice merges its values, and no keys make
    /// `null`, as in async-graphql's resolver. Written as JSON (`Value::Binary`) where the
    /// shape says so and its fields' values copy no more than [`MAX_COPIED`] bytes.
    fn assemble<'l>(
        &self,
        ctx: &ContextSelectionSet<'_>,
        answered: impl IntoIterator<Item = Option<Leaf<'l>>>,
        resolved: Vec<ServerResult<Value>>,
    ) -> Value {
        let keys = self.written.as_deref().filter(|_| {
            let copies = resolved.iter().try_fold(0, |sum, value| match value {
                Ok(value) => Some(sum + copied(value)?),
                Err(_) => Some(sum),
            });
            copies.is_some_and(|bytes| bytes <= MAX_COPIED)
        });
        let mut resolved = resolved.into_iter().map(|value| value.map(Leaf::Value));
        let values = self
            .slots
            .iter()
            .zip(answered)
            .filter_map(
                |(&slot, answer)| match answer.map(Ok).or_else(|| resolved.next())? {
                    Ok(value) => Some((slot, value)),
                    Err(error) => {
                        ctx.add_error(error);
                        None
                    }
                },
            );
        match keys {
            Some(keys) => self.write(keys, values),
            None => self.build(values),
        }
    }

    /// The object of `values` (each with its key's index) as a map.
    fn build<'l>(&self, values: impl Iterator<Item = (usize, Leaf<'l>)>) -> Value {
        let mut object = IndexMap::with_capacity_and_hasher(self.keys.len(), self.hasher.clone());
        for (slot, value) in values {
            let value = value.into_value();
            let (key, hash) = &self.keys[slot];
            match object.raw_entry_mut_v1().from_hash(*hash, |k| k == key) {
                RawEntryMut::Vacant(entry) => {
                    entry.insert_hashed_nocheck(*hash, key.clone(), value);
                }
                RawEntryMut::Occupied(entry) => merge(entry.into_mut(), value),
            }
        }
        if object.is_empty() {
            Value::Null
        } else {
            Value::Object(object)
        }
    }

    /// The object of `values` (each with its key's index, every key once) written as JSON,
    /// each key as `keys` has it.
    fn write<'l>(
        &self,
        keys: &[Box<[u8]>],
        values: impl Iterator<Item = (usize, Leaf<'l>)>,
    ) -> Value {
        let mut out = Vec::with_capacity(self.longest.load(Ordering::Relaxed));
        out.push(b'{');
        for (slot, value) in values {
            if out.len() > 1 {
                out.push(b',');
            }
            out.extend_from_slice(&keys[slot]);
            value.write(&mut out);
        }
        if out.len() == 1 {
            return Value::Null;
        }
        out.push(b'}');
        self.longest.fetch_max(out.len(), Ordering::Relaxed);
        Value::Binary(out.into())
    }
}

/// The bytes of JSON written before that writing `value` copies, or `None` for an object
/// built as a map (which writing would walk whole).
fn copied(value: &Value) -> Option<usize> {
    match value {
        Value::Binary(json) => Some(json.len()),
        Value::List(items) => items
            .iter()
            .try_fold(0, |sum, item| Some(sum + copied(item)?)),
        Value::Object(_) => None,
        _ => Some(0),
    }
}

/// The value of `field` when it is a leaf of `root` (or `__typename`) asked without arguments.
fn leaf<'a, T: Leaves + ?Sized>(
    root: &'a T,
    type_name: &'a str,
    field: &Positioned<Field>,
) -> Option<Leaf<'a>> {
    let field = &field.node;
    if !field.arguments.is_empty() || !field.selection_set.node.items.is_empty() {
        return None;
    }
    let name = field.name.node.as_str();
    if name == "__typename" {
        return Some(Leaf::Text(Some(type_name)));
    }
    root.leaf(name)
}

/// Panics when a leaf's value is not the one its resolver gives, or its JSON not the JSON of
/// that value (debug builds only).
#[cfg(debug_assertions)]
async fn check_leaf<T: ContainerType>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
    field: &Positioned<Field>,
    leaf: Leaf<'_>,
) {
    let value = &leaf.checked_value();
    if field.node.name.node == "__typename" {
        return;
    }
    match root.resolve_field(&ctx.with_field(field)).await {
        Ok(Some(resolved)) if resolved == *value => {}
        Ok(Some(resolved)) => panic!(
            "the leaf {}.{} is {value}, its resolver gives {resolved}",
            root.introspection_type_name(),
            field.node.name.node,
        ),
        other => panic!(
            "the leaf {}.{} is {value}, its resolver gives {other:?}",
            root.introspection_type_name(),
            field.node.name.node,
        ),
    }
}

/// Panics when a child in hand resolved at once is not the value its field's resolver gives
/// at once (debug builds only).
#[cfg(debug_assertions)]
fn check_child<T: ContainerType>(
    ctx: &ContextSelectionSet<'_>,
    root: &T,
    field: &Positioned<Field>,
    value: &Value,
) {
    use futures_util::FutureExt;
    let name = &field.node.name.node;
    let resolved = root.resolve_field(&ctx.with_field(field)).now_or_never();
    let Some(Ok(Some(resolved))) = resolved else {
        panic!(
            "the child {}.{name} is in hand, its resolver gives {resolved:?}",
            root.introspection_type_name(),
        );
    };
    assert_eq!(
        &resolved,
        value,
        "the child {}.{name} in hand, and its resolver's",
        root.introspection_type_name(),
    );
}

/// The fields of the selection set `set` (of the request of `ctx`) that apply to the object
/// type `type_name`, in order; fragments are expanded where their type condition holds (no
/// condition, the type itself, or an interface it implements). A field's context does not
/// depend on the selection set it was written in (`with_field` keeps only the path), so the
/// fields alone are kept. `false` if a field carries a directive, which only async-graphql's
/// resolver applies.
fn collect<'a>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a Positioned<SelectionSet>,
    type_name: &str,
    fields: &mut Vec<&'a Positioned<Field>>,
) -> ServerResult<bool> {
    for selection in &set.node.items {
        let (condition, selection_set) = match &selection.node {
            Selection::Field(field) if field.node.directives.is_empty() => {
                fields.push(field);
                continue;
            }
            Selection::Field(_) => return Ok(false),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let Some(fragment) = ctx.query_env.fragments.get(name) else {
                    return Err(ServerError::new(
                        format!(r#"Unknown fragment "{name}"."#),
                        Some(spread.pos),
                    ));
                };
                (
                    Some(&fragment.node.type_condition),
                    &fragment.node.selection_set,
                )
            }
            Selection::InlineFragment(fragment) => (
                fragment.node.type_condition.as_ref(),
                &fragment.node.selection_set,
            ),
        };
        let applies = condition.is_none_or(|condition| {
            let on = condition.node.on.node.as_str();
            on == type_name
                || ctx
                    .schema_env
                    .registry
                    .implements
                    .get(type_name)
                    .is_some_and(|interfaces| interfaces.contains(on))
        });
        if applies && !collect(ctx, selection_set, type_name, fields)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One field's value, through its resolver.
async fn resolve_field<'a, T: ContainerType>(
    ctx: &'a ContextSelectionSet<'a>,
    root: &'a T,
    field: &'a Positioned<Field>,
) -> ServerResult<Value> {
    let ctx_field = ctx.with_field(field);
    Ok(root.resolve_field(&ctx_field).await?.unwrap_or_default())
}

/// A Relay connection of [`Eager`] nodes: the same GraphQL type as async-graphql's
/// `Connection<C, Eager<N>>` (it registers that type, so the schema does not change), whose
/// `edges` and `nodes` resolve here.
///
/// async-graphql resolves `edges` as a list, which above 30 items puts each edge's future in
/// a `FuturesOrdered` (an `Arc`'d task each), and each edge as an object of two boxed field
/// futures (`cursor`, `node`) run in a `FuturesUnordered`. Here the edges' selection is read
/// once for the whole list, each edge's cursor is written at once, and only the nodes are
/// awaited, every edge's side by side. `pageInfo`, and any selection with a directive, go
/// through async-graphql's resolvers.
pub struct EagerConnection<C, N>(pub Connection<C, Eager<N>>)
where
    C: CursorType + Send + Sync,
    N: EagerObject;

impl<C, N> From<Connection<C, Eager<N>>> for EagerConnection<C, N>
where
    C: CursorType + Send + Sync,
    N: EagerObject,
{
    fn from(connection: Connection<C, Eager<N>>) -> Self {
        Self(connection)
    }
}

impl<C, N> OutputType for EagerConnection<C, N>
where
    C: CursorType + Send + Sync,
    N: EagerObject,
{
    fn type_name() -> Cow<'static, str> {
        <Connection<C, Eager<N>> as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Connection<C, Eager<N>> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        // Boxed as `dyn`, as an [`Eager`] object is: a node's fields may hold connections of
        // its own type.
        let connection: Pin<Box<dyn Future<Output = ServerResult<Value>> + Send + '_>> =
            Box::pin(self.resolve_selection(ctx));
        connection.await
    }
}

impl<C, N> ContainerType for EagerConnection<C, N>
where
    C: CursorType + Send + Sync,
    N: EagerObject,
{
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        self.0.resolve_field(ctx).await
    }
}

impl<C, N> ObjectType for EagerConnection<C, N>
where
    C: CursorType + Send + Sync,
    N: EagerObject,
{
}

/// A field's future, boxed: a connection's fields are of different kinds, and few.
type FieldFuture<'a> = Pin<Box<dyn Future<Output = ServerResult<Value>> + Send + 'a>>;

/// The connection's own edge type.
type EdgeOf<C, N> = Edge<C, Eager<N>, EmptyFields>;

impl<C, N> EagerConnection<C, N>
where
    C: CursorType + Send + Sync,
    N: EagerObject,
{
    /// Resolves the selection set `ctx`: `edges` and `nodes` here, `__typename` at once, the
    /// other fields through the connection's resolver.
    async fn resolve_selection<'a>(
        &'a self,
        ctx: &'a ContextSelectionSet<'a>,
    ) -> ServerResult<Value> {
        let type_name = <Self as OutputType>::type_name();
        let Some(plan) = Plan::of(ctx, &type_name)? else {
            return resolve_container(ctx, &self.0).await;
        };
        let mut answered = Vec::with_capacity(plan.fields.len());
        let mut pending: Vec<FieldFuture<'a>> = Vec::new();
        for &field in &plan.fields {
            let plain = field.node.arguments.is_empty();
            match field.node.name.node.as_str() {
                "__typename" => {
                    answered.push(Some(Leaf::Text(Some(&type_name))));
                    continue;
                }
                "edges" if plain => pending.push(Box::pin(async move {
                    let ctx_field = ctx.with_field(field);
                    let ctx_list = ctx_field.with_selection_set(&field.node.selection_set);
                    self.resolve_edges(&ctx_list, field).await
                })),
                "nodes" if plain => pending.push(Box::pin(async move {
                    let ctx_field = ctx.with_field(field);
                    let ctx_list = ctx_field.with_selection_set(&field.node.selection_set);
                    self.resolve_nodes(&ctx_list, field).await
                })),
                _ => pending.push(Box::pin(resolve_field(ctx, &self.0, field))),
            }
            answered.push(None);
        }
        let resolved = join_all(pending).await;
        Ok(plan.shape.assemble(ctx, answered, resolved))
    }

    /// The `edges` list: the edge selection `ctx` read once, then every edge's cursor at once
    /// and its node through [`Eager`], all edges polled together. A selection this does not
    /// read (a directive, an unknown fragment) goes to async-graphql's list resolver.
    async fn resolve_edges<'a>(
        &'a self,
        ctx: &ContextSelectionSet<'a>,
        field: &'a Positioned<Field>,
    ) -> ServerResult<Value> {
        let edges = self.0.edges.as_slice();
        let edge_type = <EdgeOf<C, N> as OutputType>::type_name();
        let plan = match Plan::of(ctx, &edge_type) {
            Ok(Some(plan)) if !edges.is_empty() => plan,
            _ => return OutputType::resolve(&edges, ctx, field).await,
        };
        // Each `node` field's plan (`None` for the other fields), read with the edge's.
        let node_type = <N as OutputType>::type_name();
        let node_plans: Vec<Option<&Plan<'a>>> = (0..plan.fields.len())
            .map(|i| {
                let is_node = plan.fields[i].node.name.node == "node";
                let child = plan
                    .child_plan(i)
                    .filter(|(ty, _)| is_node && *ty == node_type);
                child.map(|(_, plan)| plan)
            })
            .collect();
        let (plan, node_plans, edge_type, node_type) = (&plan, &node_plans, &edge_type, &node_type);
        let one_by_one = || {
            join_chunked(edges.iter().enumerate().map(|(i, edge)| async move {
                let ctx_edge = ctx.with_index(i);
                // Each field in order, as the results of `assemble`'s resolved fields.
                let mut resolved = Vec::with_capacity(plan.fields.len());
                for (&field, node_plan) in plan.fields.iter().zip(node_plans) {
                    let ctx_field = ctx_edge.with_field(field);
                    let value = match field.node.name.node.as_str() {
                        "__typename" => Ok(Value::String(edge_type.to_string())),
                        "cursor" => Ok(Value::String(edge.cursor.encode_cursor())),
                        "node" => {
                            let ctx_node = ctx_field.with_selection_set(&field.node.selection_set);
                            let plan = node_plan.as_deref();
                            resolve_item(&ctx_node, &edge.node, field, node_type, plan).await
                        }
                        // Boxed: the edge's own resolver, for fields it rarely has, would make
                        // every edge's future as big as its own.
                        _ => Box::pin(edge.resolve_field(&ctx_field))
                            .await
                            .map(Option::unwrap_or_default),
                    };
                    resolved.push(value);
                }
                plan.shape.assemble(
                    &ctx_edge,
                    std::iter::repeat_n(None, resolved.len()),
                    resolved,
                )
            }))
        };
        if let Some(list) = list_now(edges.iter(), edge_type, plan) {
            #[cfg(debug_assertions)]
            assert_same_json(&list, &Value::List(one_by_one().await), "edges at hand");
            return Ok(list);
        }
        Ok(Value::List(one_by_one().await))
    }

    /// The `nodes` list, as an [`EagerList`] resolves its items.
    async fn resolve_nodes<'a>(
        &'a self,
        ctx: &ContextSelectionSet<'a>,
        field: &'a Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_list(ctx, field, self.0.edges.iter().map(|edge| &edge.node)).await
    }
}

/// A connection's edge, for edges written at once ([`list_now`]): its cursor is a leaf, its
/// node an object in hand. (The edges' resolver, [`EagerConnection`], answers them itself
/// otherwise.)
impl<C: CursorType + Send + Sync, N: EagerObject> Leaves for EdgeOf<C, N> {
    fn leaf(&self, name: &str) -> Option<Leaf<'_>> {
        (name == "cursor").then(|| Value::String(self.cursor.encode_cursor()).into())
    }

    fn child(&self, name: &str) -> Option<Child<'_>> {
        (name == "node").then(|| Child::of(&self.node.0))
    }
}

/// Panics unless `value` is written as the same JSON as `expected` (debug builds only).
#[cfg(debug_assertions)]
fn assert_same_json(value: &Value, expected: &Value, what: &str) {
    let (mut written, mut wanted) = (Vec::new(), Vec::new());
    json::write_value(&mut written, value);
    json::write_value(&mut wanted, expected);
    assert_eq!(
        String::from_utf8_lossy(&written),
        String::from_utf8_lossy(&wanted),
        "{what}"
    );
}

/// A list of [`Eager`] objects: the same GraphQL type as `Vec<Eager<T>>`, its items polled
/// together in `join_all`'s slice (async-graphql's list resolver puts each item of a list
/// longer than 30, such as a big group's members, in a `FuturesOrdered`).
pub struct EagerList<T>(pub Vec<Eager<T>>);

impl<T> FromIterator<Eager<T>> for EagerList<T> {
    fn from_iter<I: IntoIterator<Item = Eager<T>>>(items: I) -> Self {
        Self(items.into_iter().collect())
    }
}

impl<T: EagerObject> OutputType for EagerList<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<Eager<T>> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<Eager<T>> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<Eager<T>> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        // Boxed as `dyn`, as an [`Eager`] object is: an item's fields may hold lists of its
        // own type.
        let list: Pin<Box<dyn Future<Output = ServerResult<Value>> + Send + '_>> =
            Box::pin(resolve_list(ctx, field, self.0.iter()));
        list.await
    }
}

/// Resolves `items` side by side; the first error fails the list, as in async-graphql's list
/// resolver.
async fn resolve_list<'a, T: EagerObject + 'a>(
    ctx: &ContextSelectionSet<'_>,
    field: &Positioned<Field>,
    items: impl ExactSizeIterator<Item = &'a Eager<T>> + Clone,
) -> ServerResult<Value> {
    let type_name = <T as OutputType>::type_name();
    let plan = Plan::for_items(ctx, &type_name);
    let (plan, type_name) = (plan.as_ref(), &type_name);
    // Every item at once when each is at hand; at the first that is not, every item through
    // the futures below.
    let now = plan.and_then(|plan| list_now(items.clone().map(|item| &item.0), type_name, plan));
    let one_by_one = || async {
        let items = items.enumerate().map(|(i, item)| async move {
            let ctx_item = ctx.with_index(i);
            resolve_item(&ctx_item, item, field, type_name, plan)
                .await
                .map_err(|error| ctx_item.set_error_path(error))
        });
        let values = join_chunked(items).await;
        values.into_iter().collect::<ServerResult<_>>()
    };
    if let Some(list) = now {
        #[cfg(debug_assertions)]
        match one_by_one().await {
            Ok(values) => assert_same_json(&list, &Value::List(values), "items at hand"),
            Err(error) => panic!("items at hand, and resolved: {error:?}"),
        }
        return Ok(list);
    }
    Ok(Value::List(one_by_one().await?))
}

/// `items` (of the type `type_name`) under `plan` written as one JSON array when every item
/// is at hand ([`write_now`]); `None` at the first that is not, and where the request's
/// objects are not written as JSON (an empty list too: it is a list value there).
fn list_now<'i, T: Leaves + 'i>(
    items: impl ExactSizeIterator<Item = &'i T>,
    type_name: &str,
    plan: &Plan<'_>,
) -> Option<Value> {
    plan.shape.written.as_ref()?;
    let count = items.len();
    let mut out = Vec::with_capacity(1024);
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if !write_now(&mut out, item, type_name, plan) {
            return None;
        }
        if i == 0 {
            // Room for the rest, each item as long as the first and a quarter: grown item by
            // item, the buffer copied the whole list several times over (2 % of a history
            // page's instructions).
            out.reserve(out.len() * (count - 1) * 5 / 4 + 1);
        }
    }
    out.push(b']');
    Some(Value::Binary(out.into()))
}

/// One object of a list: through the list's `plan` when it has one, else through
/// async-graphql's resolver.
async fn resolve_item<'a, T: EagerObject>(
    ctx: &ContextSelectionSet<'a>,
    item: &'a Eager<T>,
    field: &'a Positioned<Field>,
    type_name: &str,
    plan: Option<&Plan<'a>>,
) -> ServerResult<Value> {
    match plan {
        Some(plan) => Ok(resolve_planned(ctx, &item.0, type_name, plan).await),
        None => item.resolve(ctx, field).await,
    }
}

/// Awaits `futures` side by side, in `join_all`'s own slice of futures: chunks of at most 30,
/// because above 30 `join_all` switches to a `FuturesOrdered` (an `Arc`'d task per future).
async fn join_chunked<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    const CHUNK: usize = 30;
    // Each chunk's `join_all` takes its futures from the iterator itself: gathering them in a
    // `Vec` first copied every future once more. The iterator is gone before the await.
    let chunks = {
        let mut futures = futures.peekable();
        let mut chunks = Vec::new();
        while futures.peek().is_some() {
            chunks.push(join_all(futures.by_ref().take(CHUNK)));
        }
        chunks
    };
    join_all(chunks).await.into_iter().flatten().collect()
}

/// Adds a field's value under its response key, merging it into a value already there.
fn insert_value(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    match target.entry(name) {
        Entry::Vacant(entry) => {
            entry.insert(value);
        }
        Entry::Occupied(entry) => merge(entry.into_mut(), value),
    }
}

/// Merges a second value of a key selected twice into the first: their objects (and the
/// objects of their lists, item by item), as async-graphql's resolver does.
fn merge(previous: &mut Value, value: Value) {
    debug_assert!(
        !matches!(value, Value::Binary(_)),
        "an object written as JSON merged (its document asks a key twice)"
    );
    match (previous, value) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                insert_value(into, key, value);
            }
        }
        (Value::List(into), Value::List(from)) => {
            for (into, from) in into.iter_mut().zip(from) {
                if let (Value::Object(into), Value::Object(from)) = (into, from) {
                    for (key, value) in from {
                        insert_value(into, key, value);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{
        CustomDirective, Directive, EmptyMutation, EmptySubscription, Interface, Object,
        ResolveFut, Schema,
    };

    use super::*;

    /// An object with every kind of field an [`Eager`] object meets.
    #[derive(Clone)]
    struct Thing(i32);

    #[Object]
    impl Thing {
        async fn n(&self) -> i32 {
            self.0
        }

        async fn name(&self) -> String {
            format!("thing {}", self.0)
        }

        /// Ready on its second poll only, like a field that waits on a loader.
        async fn later(&self) -> i32 {
            tokio::task::yield_now().await;
            self.0 * 10
        }

        async fn child(&self) -> Eager<Thing> {
            Eager(Thing(self.0 + 1))
        }

        async fn children(&self) -> Vec<Eager<Thing>> {
            (1..=3).map(|i| Eager(Thing(self.0 * 10 + i))).collect()
        }

        /// 35 children (more than one chunk) through async-graphql's list resolver.
        async fn crowd(&self) -> Vec<Eager<Thing>> {
            (1..=35).map(|i| Eager(Thing(self.0 * 100 + i))).collect()
        }

        /// The same children as an [`EagerList`].
        async fn eager_crowd(&self) -> EagerList<Thing> {
            (1..=35).map(|i| Eager(Thing(self.0 * 100 + i))).collect()
        }

        async fn fails(&self) -> async_graphql::Result<i32> {
            Err(format!("thing {} failed", self.0).into())
        }

        async fn sometimes(&self) -> async_graphql::Result<Option<i32>> {
            if self.0 % 2 == 0 {
                Err("even".into())
            } else {
                Ok(Some(self.0))
            }
        }
    }

    /// `n` is a leaf; `name` goes through its resolver.
    impl Leaves for Thing {
        fn leaf(&self, name: &str) -> Option<Leaf<'_>> {
            (name == "n").then(|| Leaf::scalar(Some(&self.0)))
        }
    }

    /// A thing with things in hand ([`Leaves::child`]): `mate` and `next`, when it has them.
    #[derive(Clone)]
    struct Pair {
        n: i32,
        mate: Option<Thing>,
        next: Option<Box<Pair>>,
    }

    #[Object]
    impl Pair {
        async fn n(&self) -> i32 {
            self.n
        }

        async fn mate(&self) -> Option<Eager<Thing>> {
            self.mate.clone().map(Eager)
        }

        async fn next(&self) -> Option<Eager<Pair>> {
            self.next.as_deref().cloned().map(Eager)
        }

        /// A thing it does not hold.
        async fn child(&self) -> Eager<Thing> {
            Eager(Thing(self.n + 1))
        }
    }

    impl Leaves for Pair {
        fn leaf(&self, name: &str) -> Option<Leaf<'_>> {
            (name == "n").then(|| Leaf::scalar(Some(&self.n)))
        }

        fn child(&self, name: &str) -> Option<Child<'_>> {
            match name {
                "mate" => self.mate.as_ref().map(Child::of),
                "next" => self.next.as_deref().map(Child::of),
                _ => None,
            }
        }
    }

    /// Pair `n`, its mate when `mated`, and a next pair (mated) when `n` is even.
    fn pair(n: i32, mated: bool) -> Pair {
        Pair {
            n,
            mate: mated.then_some(Thing(n * 10)),
            next: (n % 2 == 0).then(|| {
                Box::new(Pair {
                    n: n * 100,
                    mate: Some(Thing(n)),
                    next: None,
                })
            }),
        }
    }

    /// Pairs 1 to 35 (more than one chunk), each mated unless `some_single` and a multiple of 3.
    fn pairs(some_single: bool) -> impl Iterator<Item = Pair> {
        (1..=35).map(move |n| pair(n, !(some_single && n % 3 == 0)))
    }

    /// A leaf whose value is not its resolver's, and a child that is not its resolver's.
    struct Liar(Thing);

    #[Object]
    impl Liar {
        async fn n(&self) -> i32 {
            1
        }

        async fn mate(&self) -> Eager<Thing> {
            Eager(Thing(1))
        }
    }

    impl Leaves for Liar {
        fn leaf(&self, name: &str) -> Option<Leaf<'_>> {
            (name == "n").then(|| Value::from(2).into())
        }

        fn child(&self, name: &str) -> Option<Child<'_>> {
            (name == "mate").then(|| Child::of(&self.0))
        }
    }

    #[derive(Interface)]
    #[graphql(field(name = "n", ty = "i32"))]
    #[allow(dead_code)]
    enum Node {
        Thing(Thing),
    }

    struct Query;

    #[Object]
    impl Query {
        /// The thing through async-graphql's own resolver.
        async fn plain(&self) -> Thing {
            Thing(1)
        }

        /// The same thing through [`Eager`].
        async fn eager(&self) -> Eager<Thing> {
            Eager(Thing(1))
        }

        /// An object whose leaf and child lie.
        async fn liar(&self) -> Eager<Liar> {
            Eager(Liar(Thing(2)))
        }

        /// A pair through async-graphql's own resolver.
        async fn plain_pair(&self) -> Pair {
            pair(2, true)
        }

        /// The same pair through [`Eager`].
        async fn eager_pair(&self) -> Eager<Pair> {
            Eager(pair(2, true))
        }

        /// Pairs, all mated, through async-graphql's list resolver.
        async fn plain_pairs(&self) -> Vec<Pair> {
            pairs(false).collect()
        }

        /// The same pairs as an [`EagerList`].
        async fn eager_pairs(&self) -> EagerList<Pair> {
            pairs(false).map(Eager).collect()
        }

        /// Pairs, some single, through async-graphql's list resolver.
        async fn plain_mixed_pairs(&self) -> Vec<Pair> {
            pairs(true).collect()
        }

        /// The same pairs as an [`EagerList`].
        async fn eager_mixed_pairs(&self) -> EagerList<Pair> {
            pairs(true).map(Eager).collect()
        }

        /// A connection of pairs (all mated) through async-graphql's resolver.
        async fn plain_pair_page(&self) -> Connection<String, Eager<Pair>> {
            let mut connection = Connection::new(true, false);
            let edges = pairs(false).map(|p| Edge::new(format!("pair {}", p.n), Eager(p)));
            connection.edges.extend(edges);
            connection
        }

        /// The same connection through [`EagerConnection`].
        async fn eager_pair_page(&self) -> EagerConnection<String, Pair> {
            let mut connection = Connection::new(true, false);
            let edges = pairs(false).map(|p| Edge::new(format!("pair {}", p.n), Eager(p)));
            connection.edges.extend(edges);
            connection.into()
        }

        /// Registers the interface, so that `... on Node` applies to `Thing`.
        async fn node(&self) -> Node {
            Node::Thing(Thing(2))
        }

        /// A connection of 35 things (more than one chunk) through async-graphql's resolver.
        async fn plain_page(&self) -> Connection<String, Eager<Thing>> {
            page(35)
        }

        /// The same connection through [`EagerConnection`].
        async fn eager_page(&self) -> EagerConnection<String, Thing> {
            page(35).into()
        }

        /// An empty connection through async-graphql's resolver.
        async fn plain_empty(&self) -> Connection<String, Eager<Thing>> {
            page(0)
        }

        /// The same empty connection through [`EagerConnection`].
        async fn eager_empty(&self) -> EagerConnection<String, Thing> {
            page(0).into()
        }
    }

    /// A connection of things 1 to `n`, with a next page.
    fn page(n: i32) -> Connection<String, Eager<Thing>> {
        let mut connection = Connection::new(false, true);
        connection
            .edges
            .extend((1..=n).map(|i| Edge::new(format!("cursor {i}"), Eager(Thing(i)))));
        connection
    }

    struct Shout;

    #[async_trait::async_trait]
    impl CustomDirective for Shout {
        async fn resolve_field(
            &self,
            _ctx: &async_graphql::Context<'_>,
            resolve: ResolveFut<'_>,
        ) -> ServerResult<Option<Value>> {
            Ok(resolve.await?.map(|value| match value {
                Value::String(s) => Value::String(s.to_uppercase()),
                other => other,
            }))
        }
    }

    /// Upper-cases a string field.
    #[Directive(location = "Field")]
    fn shout() -> impl CustomDirective {
        Shout
    }

    fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .directive(shout)
            .finish()
    }

    /// How a test request gets its [`Shapes`].
    #[derive(Clone, Copy, Debug)]
    enum Mode {
        /// None: each object hashes its own keys.
        Unshaped,
        /// The socket's.
        Shaped,
        /// HTTP's: objects written as JSON where the document allows it.
        Written,
    }

    /// Runs `{ root { selection } }` plus `fragments`, with the request's [`Shapes`] as the
    /// gateway gives the socket; the data under `root` and the errors as `(message, path
    /// after root)`, sorted.
    async fn run(
        root: &str,
        selection: &str,
        fragments: &str,
    ) -> (Value, Vec<(String, Vec<String>)>) {
        run_with(root, selection, fragments, Mode::Shaped).await
    }

    /// [`run`] in `mode`. A request whose objects may be written as JSON gives its data as
    /// JSON read back (see [`json_read_back`]).
    async fn run_with(
        root: &str,
        selection: &str,
        fragments: &str,
        mode: Mode,
    ) -> (Value, Vec<(String, Vec<String>)>) {
        let text = format!("{{ {root} {{ {selection} }} }} {fragments}");
        let document = async_graphql::parser::parse_query(&text).expect("parses");
        let written = !super::super::limits::repeats_keys(&document, 1000);
        let mut request = async_graphql::Request::new(text);
        match mode {
            Mode::Unshaped => {}
            Mode::Shaped => request = request.data(Shapes::default()),
            Mode::Written if written => request = request.data(Shapes::written()),
            Mode::Written => request = request.data(Shapes::default()),
        }
        let response = schema().execute(request).await;
        let Value::Object(mut data) = response.data else {
            panic!("no data: {:?}", response.errors);
        };
        let mut errors: Vec<_> = response
            .errors
            .into_iter()
            .map(|e| {
                let path = e.path.iter().skip(1).map(|s| format!("{s:?}")).collect();
                (e.message, path)
            })
            .collect();
        errors.sort();
        let value = data.shift_remove(root).expect("the root field");
        match mode {
            Mode::Written if written => (json_read_back(&value), errors),
            _ => (value, errors),
        }
    }

    /// `value` written as the HTTP response writes it, and read back: objects written as
    /// JSON become maps, enums strings.
    fn json_read_back(value: &Value) -> Value {
        let mut out = Vec::new();
        json::write_value(&mut out, value);
        serde_json::from_slice(&out).expect("JSON")
    }

    /// Asserts that each selection gives the same data and errors under every `(plain,
    /// eager)` pair of roots, in every [`Mode`]; the fragment `name` is added where a
    /// selection spreads it.
    async fn assert_same(
        roots: &[(&str, &str)],
        selections: &[&str],
        (name, fragment): (&str, &str),
    ) {
        for selection in selections {
            let fragments = if selection.contains(&format!("...{name}")) {
                fragment
            } else {
                ""
            };
            for (plain, eager) in roots {
                let plain = run(plain, selection, fragments).await;
                for mode in [Mode::Shaped, Mode::Unshaped, Mode::Written] {
                    let (value, errors) = run_with(eager, selection, fragments, mode).await;
                    let expected = match mode {
                        Mode::Written => json_read_back(&plain.0),
                        _ => plain.0.clone(),
                    };
                    assert_eq!(value, expected, "{selection} ({mode:?})");
                    assert_eq!(errors, plain.1, "{selection} ({mode:?})");
                }
            }
        }
    }

    #[tokio::test]
    async fn resolves_as_async_graphql_does() {
        let selections = [
            "n name later",
            "a: n b: n n",
            "__typename t: __typename n",
            "child { n child { name later } } children { n later }",
            "child { n } child { name } children { n } children { later }",
            "... on Thing { n later } ... on Node { n } ... { name }",
            "...F child { later } n",
            "n fails name sometimes children { sometimes fails }",
            "child { fails } child { n } sometimes n sometimes children { fails } children { n }",
            "later shouted: name @shout n",
        ];
        let fragment = ("F", "fragment F on Thing { name child { n } }");
        assert_same(&[("plain", "eager")], &selections, fragment).await;
    }

    #[tokio::test]
    async fn connections_resolve_as_async_graphql_does() {
        let selections = [
            "edges { cursor node { n name later } } pageInfo { hasNextPage startCursor }",
            "__typename edges { __typename cursor c: cursor node { n } } nodes { n later }",
            "edges { node { n } } edges { cursor node { later } } nodes { name } nodes { n }",
            "...on ThingConnection { edges { ...E ... on ThingEdge { node { n } } } }",
            "edges { node { n fails sometimes child { fails } } } nodes { sometimes }",
            "edges { cursor loud: cursor @shout node { name } } nodes { name @shout }",
        ];
        let fragment = ("E", "fragment E on ThingEdge { cursor node { name } }");
        let roots = [("plainPage", "eagerPage"), ("plainEmpty", "eagerEmpty")];
        assert_same(&roots, &selections, fragment).await;
    }

    #[tokio::test]
    async fn lists_resolve_as_async_graphql_does() {
        let fragment = "fragment F on Thing { name child { n } }";
        for selection in ["n later", "__typename name sometimes fails", "...F later"] {
            let fragments = if selection.contains("...F") {
                fragment
            } else {
                ""
            };
            let plain = run("plain", &format!("c: crowd {{ {selection} }}"), fragments).await;
            let eager = format!("c: eagerCrowd {{ {selection} }}");
            assert_eq!(run("plain", &eager, fragments).await, plain, "{selection}");
            let written = run_with("plain", &eager, fragments, Mode::Written).await;
            assert_eq!(written.0, json_read_back(&plain.0), "{selection}");
            assert_eq!(written.1, plain.1, "{selection}");
        }
    }

    #[tokio::test]
    async fn children_in_hand_resolve_as_async_graphql_does() {
        let selections = [
            "n mate { n }",
            "mate { __typename n } next { n mate { n } }",
            "mate { n name }",
            "next { next { n } mate { later } } n",
            "mate { ... on Thing { n } ...F } child { n }",
            "mate { n } m: mate { n } mate { n name @shout }",
            "next { mate { fails n } } mate { n }",
        ];
        let fragment = ("F", "fragment F on Thing { n }");
        let roots = [
            ("plainPair", "eagerPair"),
            ("plainPairs", "eagerPairs"),
            ("plainMixedPairs", "eagerMixedPairs"),
        ];
        assert_same(&roots, &selections, fragment).await;
        let edges = [
            "edges { cursor node { n mate { n } next { n mate { n } } } }",
            "edges { node { mate { n name } } } nodes { n mate { n } }",
            "__typename edges { __typename node { __typename n } cursor }",
        ];
        let roots = [("plainPairPage", "eagerPairPage")];
        assert_same(&roots, &edges, fragment).await;
    }

    #[test]
    fn times_are_written_as_the_scalar_writes_them() {
        use chrono::{NaiveDate, TimeDelta};
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a date");
        let mut times: Vec<DateTime<Utc>> = vec![
            DateTime::UNIX_EPOCH,
            day(5, 3, 1).and_hms_opt(1, 2, 3).expect("a time").and_utc(),
            day(9999, 12, 31)
                .and_hms_nano_opt(23, 59, 59, 999_999_999)
                .expect("a time")
                .and_utc(),
            day(10_000, 1, 1)
                .and_hms_opt(0, 0, 0)
                .expect("a time")
                .and_utc(),
            day(-1, 12, 31)
                .and_hms_milli_opt(12, 0, 0, 5)
                .expect("a time")
                .and_utc(),
            // A leap second.
            day(2016, 12, 31)
                .and_hms_nano_opt(23, 59, 59, 1_250_000_000)
                .expect("a time")
                .and_utc(),
        ];
        // Pseudo-random times within ±250 years of 1970, at nanosecond, microsecond,
        // millisecond and second precision.
        let mut x: i64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let nanos = x % (250 * 366 * 86_400 * 1_000_000_000);
            let time = DateTime::UNIX_EPOCH + TimeDelta::nanoseconds(nanos);
            for unit in [1, 1_000, 1_000_000, 1_000_000_000] {
                times.push(DateTime::UNIX_EPOCH + TimeDelta::nanoseconds(nanos / unit * unit));
            }
            times.push(time);
        }
        for time in times {
            assert_leaf(Leaf::Time(Some(time)), time.to_value());
        }
        assert_leaf(Leaf::Time(None), Value::Null);
    }

    /// Asserts that `leaf` is `value`, and written as JSON as `value` is.
    fn assert_leaf(leaf: Leaf<'_>, value: Value) {
        assert_eq!(leaf.checked_value(), value);
    }

    #[test]
    fn ids_and_texts_are_written_as_their_scalars_write_them() {
        for id in [
            Uuid::nil(),
            Uuid::max(),
            Uuid::from_u128(0x0123_4567_89ab_cdef),
        ] {
            assert_leaf(
                Leaf::Id(Some(id)),
                async_graphql::ID(id.to_string()).to_value(),
            );
        }
        for text in ["", "plain", "a \"quote\" and a \\ and a\nline", "é 漢字 🎉"] {
            assert_leaf(Leaf::Text(Some(text)), text.to_owned().to_value());
        }
        assert_leaf(Leaf::Id(None), Value::Null);
        assert_leaf(Leaf::Text(None), Value::Null);
    }

    #[tokio::test]
    async fn keys_come_in_the_order_asked() {
        let (value, errors) = run(
            "eager",
            "later n child { later name } name ... on Thing { later }",
            "",
        )
        .await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            serde_json::to_string(&value).expect("json"),
            r#"{"later":10,"n":1,"child":{"later":20,"name":"thing 2"},"name":"thing 1"}"#
        );
    }

    #[tokio::test]
    async fn a_field_directive_still_applies() {
        let (value, _) = run("eager", "name loud: name @shout", "").await;
        assert_eq!(
            value,
            async_graphql::value!({ "name": "thing 1", "loud": "THING 1" })
        );
    }

    #[cfg(debug_assertions)]
    #[tokio::test]
    #[should_panic(expected = "the leaf Liar.n is 2, its resolver gives 1")]
    async fn a_leaf_that_differs_from_its_resolver_fails_debug_builds() {
        run("liar", "n", "").await;
    }

    #[cfg(debug_assertions)]
    #[tokio::test]
    #[should_panic(expected = "the child Liar.mate in hand, and its resolver's")]
    async fn a_child_that_differs_from_its_resolver_fails_debug_builds() {
        // Children in hand are written with their parent where objects are written as JSON.
        run_with("liar", "mate { n }", "", Mode::Written).await;
    }
}
