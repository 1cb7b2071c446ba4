//! Request-level rules every operation passes, over HTTP and the socket alike: a cap on the
//! length of the query text (checked before parsing), a cap on the fields one operation
//! selects (aliases and `__typename` included, fragments counted where they are spread), a
//! refusal of a request that leaves out a required variable or gives one a value that does
//! not fit its type (request errors, as the spec says), and a code on every error
//! (`GRAPHQL_PARSE_FAILED`, `GRAPHQL_VALIDATION_FAILED`, or `BAD_USER_INPUT` for a value the
//! schema could not take).
//!
//! Plain checks that [`super::gateway::Gateway`] runs before the schema, not an
//! async-graphql extension: any extension sends every resolved field through async-graphql's
//! extension chain (a resolve-info lookup and a boxed future per field, about a fifth of an
//! inbox's instructions). The document parsed here is handed to the schema, which does not
//! parse it again; admitted documents are kept by their text, so a text sent before is not
//! parsed again either.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Request, Response, ServerError};

use super::variables::VariableTypes;
use crate::config::Config;

/// Apollo's code for a query that does not parse.
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// Apollo's code for a query that parses but does not fit the schema (or its limits of depth
/// and complexity).
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// The limits of one server: `max_fields` fields at most in one operation; introspection
/// refused with a code when it is switched off (the schema alone would answer `null` without
/// a word).
#[derive(Debug)]
pub struct RequestLimits {
    /// Longest query text, in bytes: refused before it is parsed.
    pub max_query_bytes: usize,
    /// Largest number of selected fields in one document.
    pub max_fields: usize,
    /// Whether `__schema` and `__type` may be asked.
    pub introspection: bool,
    /// Documents admitted before, by their text.
    documents: Documents,
}

/// How many admitted documents are kept, the most recently used.
pub const CACHED_DOCUMENTS: usize = 256;
/// The longest query text kept, in bytes: with [`CACHED_DOCUMENTS`] it bounds the cache's
/// memory (2 MiB of text and the parsed documents, a few times that).
pub const MAX_CACHED_TEXT: usize = 8 * 1024;

/// Admitted documents by their exact text, the most recently used kept. Parsing is a third of
/// the server's instructions for a small query (`user(id)`: 146,000 of 384,000) and an eighth
/// of a history page's, and clients send the same few texts again and again. The text is the
/// key, so a hit is the very document parsing would give; a document is kept only once it
/// passed the limits (which depend on nothing else). The schema takes the document by value,
/// so a hit costs a clone of it: far less than parsing (`pest` walks the text rule by rule).
#[derive(Debug)]
struct Documents {
    entries: Mutex<lru::LruCache<String, Arc<Kept>>>,
}

/// A document admitted before, and whether the schema's validation has passed it.
#[derive(Debug)]
pub struct Kept {
    document: ExecutableDocument,
    validated: AtomicBool,
    unique_keys: bool,
}

impl Kept {
    /// Whether no selection set of the document asks for one response key twice (fragments
    /// counted where they are spread): no object of its responses merges two values of a key,
    /// so each can be written out as soon as it is resolved ([`super::eager::Shapes`]).
    pub fn unique_keys(&self) -> bool {
        self.unique_keys
    }

    /// Whether the schema has validated the document once: its rules, but for the values of
    /// its variables (checked on every request, [`super::variables`]), depend on the document
    /// alone, so it need not run them again.
    pub fn validated(&self) -> bool {
        self.validated.load(Ordering::Relaxed)
    }

    /// Records that the schema's validation passed the document.
    pub fn mark_validated(&self) {
        self.validated.store(true, Ordering::Relaxed);
    }
}

impl Documents {
    fn new() -> Self {
        let capacity = NonZeroUsize::new(CACHED_DOCUMENTS).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Mutex::new(lru::LruCache::new(capacity)),
        }
    }

    fn get(&self, text: &str) -> Option<Arc<Kept>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(text).cloned()
    }

    fn keep(&self, text: String, document: ExecutableDocument, unique_keys: bool) -> Arc<Kept> {
        let kept = Arc::new(Kept {
            unique_keys,
            document,
            validated: AtomicBool::new(false),
        });
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.put(text, kept.clone());
        kept
    }
}

/// A request's parsed document (in the request, where the schema takes it), and its entry
/// among the kept documents if it has one.
#[derive(Debug)]
pub struct Admitted<'r> {
    /// The document.
    pub document: &'r ExecutableDocument,
    /// Its entry among the kept documents.
    pub kept: Option<Arc<Kept>>,
}

impl RequestLimits {
    /// The limits `config` sets.
    pub fn new(config: &Config) -> Self {
        Self {
            max_query_bytes: config.max_query_bytes,
            max_fields: config.max_fields,
            introspection: config.introspection,
            documents: Documents::new(),
        }
    }

    /// Parses the request's document (kept in the request, where the schema takes it) and
    /// checks it against the limits, and the request's variables against the operation's
    /// definitions of them (`types` knows the input types); the error to answer with, coded,
    /// if it breaks one. A text admitted before is not parsed nor checked again; its
    /// variables are.
    pub fn admit<'r>(
        &self,
        request: &'r mut Request,
        types: &VariableTypes,
    ) -> Result<Admitted<'r>, ServerError> {
        if let Some(kept) = self.documents.get(&request.query) {
            check_variables(&kept.document, request, types)?;
            request.set_parsed_query(kept.document.clone());
            return admitted(request, Some(kept));
        }
        // Parsing costs in proportion to the text (about 10 ms for 170 KiB in a release
        // build): an oversized one is refused before it.
        if request.query.len() > self.max_query_bytes {
            let error = ServerError::new(
                format!(
                    "the query text is longer than {} bytes (MESSENGER_MAX_QUERY_BYTES)",
                    self.max_query_bytes
                ),
                None,
            );
            return Err(with_code(error, "BAD_USER_INPUT"));
        }
        let document = async_graphql::parser::parse_query(&request.query)
            .map_err(|e| with_code(e.into(), PARSE_FAILED))?;
        let fields = count_fields(&document, self.max_fields);
        if fields > self.max_fields {
            let error = ServerError::new(
                format!(
                    "the operation selects more than {} fields (aliases and __typename count)",
                    self.max_fields
                ),
                None,
            );
            return Err(with_code(error, "BAD_USER_INPUT"));
        }
        if !self.introspection && asks_introspection(&document) {
            let error = ServerError::new("introspection is switched off on this server", None);
            return Err(with_code(error, VALIDATION_FAILED));
        }
        // The document passed every rule of its own: keep it, whatever these variables are.
        let kept = (request.query.len() <= MAX_CACHED_TEXT).then(|| {
            let unique_keys = !repeats_keys(&document, self.max_fields);
            self.documents
                .keep(request.query.clone(), document.clone(), unique_keys)
        });
        check_variables(&document, request, types)?;
        request.set_parsed_query(document);
        admitted(request, kept)
    }
}

/// The request's document, as the schema will take it.
fn admitted(request: &mut Request, kept: Option<Arc<Kept>>) -> Result<Admitted<'_>, ServerError> {
    let document = request
        .parsed_query()
        .map_err(|e| with_code(e, PARSE_FAILED))?;
    Ok(Admitted { document, kept })
}

/// The operation a request runs, with the name it has in the document: the document's only
/// one, or the one it names. `None` where the schema will refuse the request (an unknown
/// name, or several operations and no name).
pub fn selected_operation<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'d Name>, &'d Positioned<OperationDefinition>)> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some((None, operation)),
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .get_key_value(name)
            .map(|(name, operation)| (Some(name), operation)),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .iter()
            .next()
            .map(|(name, operation)| (Some(name), operation)),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Refuses a request whose variables do not fit the operation it runs: a required one left
/// out, or a value that does not fit its declared type.
fn check_variables(
    document: &ExecutableDocument,
    request: &Request,
    types: &VariableTypes,
) -> Result<(), ServerError> {
    // The schema answers an operation it cannot find.
    let Some((_, operation)) = selected_operation(document, request.operation_name.as_deref())
    else {
        return Ok(());
    };
    missing_variable(&operation.node, request)?;
    types.check(&operation.node, &request.variables)
}

/// A required variable of `operation` (non-null, with no default) that the request does not
/// give. The GraphQL spec makes this a request error; async-graphql would run the operation
/// and fail only the field that reads the variable, with a 200.
fn missing_variable(operation: &OperationDefinition, request: &Request) -> Result<(), ServerError> {
    let missing = operation.variable_definitions.iter().find(|variable| {
        let variable = &variable.node;
        !variable.var_type.node.nullable
            && variable.default_value.is_none()
            && !request.variables.contains_key(&variable.name.node)
    });
    match missing {
        None => Ok(()),
        Some(variable) => {
            let error = ServerError::new(
                format!(
                    "Variable \"${}\" of required type \"{}\" was not provided.",
                    variable.node.name.node, variable.node.var_type.node
                ),
                Some(variable.pos),
            );
            Err(with_code(error, VALIDATION_FAILED))
        }
    }
}

/// `error` with `code` in its extensions, unless it has one.
pub fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let has_code = error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some());
    if !has_code {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
    }
    error
}

/// Gives every error of a response a code: before execution (no data, no path) a validation
/// failure (the schema's own limits of depth, complexity, recursion and directives
/// included), during it a value the schema could not take (resolvers set their own codes).
pub fn coded(mut response: Response) -> Response {
    let before_execution = matches!(response.data, async_graphql::Value::Null);
    response.errors = response
        .errors
        .into_iter()
        .map(|e| {
            let code = if before_execution && e.path.is_empty() {
                VALIDATION_FAILED
            } else {
                "BAD_USER_INPUT"
            };
            with_code(e, code)
        })
        .collect();
    response
}

/// Whether an operation of the document asks for `__schema` or `__type` at its root (directly
/// or through fragments).
fn asks_introspection(document: &ExecutableDocument) -> bool {
    fn at_root(set: &SelectionSet, document: &ExecutableDocument, depth: usize) -> bool {
        depth < 32
            && set.items.iter().any(|item| match &item.node {
                Selection::Field(field) => {
                    matches!(field.node.name.node.as_str(), "__schema" | "__type")
                }
                Selection::InlineFragment(fragment) => {
                    at_root(&fragment.node.selection_set.node, document, depth + 1)
                }
                Selection::FragmentSpread(spread) => document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .is_some_and(|f| at_root(&f.node.selection_set.node, document, depth + 1)),
            })
    }
    document
        .operations
        .iter()
        .any(|(_, operation)| at_root(&operation.node.selection_set.node, document, 0))
}

/// Counts the fields a document selects, each fragment as often as it is spread; stops
/// counting past `limit`. A fragment that spreads itself (refused later by validation) is
/// not followed twice on one path.
fn count_fields(document: &ExecutableDocument, limit: usize) -> usize {
    let mut walk = Walk::new(document, limit);
    for (_, operation) in document.operations.iter() {
        walk.walk(&operation.node.selection_set.node, &mut Vec::new());
    }
    walk.count
}

/// Whether a selection set of `document` asks for one response key twice, fragments spread in
/// place (whatever their type conditions: two fragments on different types may name one key,
/// and are counted as repeating it). Fragments are read where they are defined too, and a
/// document whose walk meets more than `limit` fields counts as repeating (an unused fragment
/// is not counted by [`count_fields`], and may spread others exponentially).
pub(super) fn repeats_keys(document: &ExecutableDocument, limit: usize) -> bool {
    let mut walk = Walk::new(document, limit);
    let operations = document
        .operations
        .iter()
        .map(|(_, o)| &o.node.selection_set);
    let fragments = document.fragments.values().map(|f| &f.node.selection_set);
    for set in operations.chain(fragments) {
        walk.walk(&set.node, &mut Vec::new());
    }
    walk.repeats || walk.count > limit
}

/// A walk through a document's selections, fragments spread in place: the fields it meets,
/// and whether a selection set asked for a response key twice.
struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// The fragments spread on the way to the current selection.
    path: HashSet<&'a Name>,
    /// The fields met so far.
    count: usize,
    /// Where the walk stops: past this many fields.
    limit: usize,
    /// Whether a selection set asked for one response key twice.
    repeats: bool,
}

impl<'a> Walk<'a> {
    fn new(document: &'a ExecutableDocument, limit: usize) -> Self {
        Self {
            document,
            path: HashSet::new(),
            count: 0,
            limit,
            repeats: false,
        }
    }

    /// Walks `set`, whose object's keys asked before it are `keys`.
    fn walk(&mut self, set: &'a SelectionSet, keys: &mut Vec<&'a Name>) {
        for item in &set.items {
            if self.count > self.limit {
                return;
            }
            match &item.node {
                Selection::Field(field) => {
                    self.count += 1;
                    let key = &field.node.response_key().node;
                    self.repeats |= keys.contains(&key);
                    keys.push(key);
                    self.walk(&field.node.selection_set.node, &mut Vec::new());
                }
                Selection::InlineFragment(fragment) => {
                    self.walk(&fragment.node.selection_set.node, keys);
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if let Some(fragment) = self.document.fragments.get(name)
                        && self.path.insert(name)
                    {
                        self.walk(&fragment.node.selection_set.node, keys);
                        self.path.remove(name);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types() -> VariableTypes {
        VariableTypes::default()
    }

    fn fields(query: &str) -> usize {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        count_fields(&document, 1000)
    }

    fn limits(introspection: bool) -> RequestLimits {
        RequestLimits {
            introspection,
            ..RequestLimits::new(&Config::default())
        }
    }

    /// A request for `text` with its `$id` variable given.
    fn with_id(text: &str) -> Request {
        let id = async_graphql::Variables::from_json(serde_json::json!({ "id": "7" }));
        Request::new(text).variables(id)
    }

    fn repeats(query: &str) -> bool {
        repeats_keys(
            &async_graphql::parser::parse_query(query).expect("parses"),
            1000,
        )
    }

    #[test]
    fn a_key_asked_twice_anywhere_is_found() {
        for unique in [
            "{ me { id username } user(id: 1) { id } }",
            "{ a: me { id } b: me { id } }",
            "{ me { ...F } } fragment F on User { id sessions { edges { node { id } } } }",
            "{ me { id ... on User { username } } }",
            "fragment F on User { ...F } { me { ...F } }",
        ] {
            assert!(!repeats(unique), "{unique}");
        }
        for repeated in [
            "{ me { id } me { username } }",
            "{ me { id id } }",
            "{ me { a: id a: username } }",
            "{ me { id ... on User { id } } }",
            "{ me { ...F ...F } } fragment F on User { id }",
            "{ me { id ...F } } fragment F on User { id }",
            "{ me { sessions { edges { node { id ... on Session { id } } } } } }",
            "{ me { id } } fragment Unused on User { id id }",
            "query A { me { id } } query B { me { id } me { username } }",
        ] {
            assert!(repeats(repeated), "{repeated}");
        }
        // An unused fragment that spreads the next twice, 40 deep, without repeating a key:
        // 2^40 fields, of which the walk reads the first thousand.
        let mut bomb = String::from("{ me { id } }");
        for i in 0..40 {
            bomb += &format!(
                " fragment F{i} on User {{ a {{ ...F{n} }} b {{ ...F{n} }} }}",
                n = i + 1
            );
        }
        bomb += " fragment F40 on User { id }";
        assert!(repeats(&bomb));
    }

    #[test]
    fn an_admitted_text_is_kept_and_served_again_as_parsed() {
        let limits = limits(true);
        let text = "query Me($id: ID!) { user(id: $id) { id username } }";
        let first = format!(
            "{:?}",
            limits
                .admit(&mut with_id(text), &types())
                .expect("admitted")
        );
        assert!(limits.documents.get(text).is_some(), "kept");
        let mut again = with_id(text);
        let second = format!(
            "{:?}",
            limits.admit(&mut again, &types()).expect("admitted")
        );
        assert_eq!(first, second);
        // A text that differs in one character is its own document.
        let other = "query Me($id: ID!) { user(id: $id) { id  username } }";
        assert!(limits.documents.get(other).is_none());
        limits
            .admit(&mut with_id(other), &types())
            .expect("admitted");
        assert!(limits.documents.get(other).is_some());
    }

    #[test]
    fn a_missing_required_variable_is_refused_whether_the_text_is_kept_or_not() {
        let limits = limits(true);
        let text = "query Me($id: ID!, $n: Int = 3, $m: Int) { user(id: $id) { id } }";
        for _ in 0..2 {
            let refused = limits
                .admit(&mut Request::new(text), &types())
                .expect_err("refused");
            assert_eq!(
                refused.message,
                "Variable \"$id\" of required type \"ID!\" was not provided."
            );
            // The document broke none of its own rules: it is kept for the next request.
            assert!(limits.documents.get(text).is_some());
        }
        limits
            .admit(&mut with_id(text), &types())
            .expect("admitted");
    }

    #[test]
    fn refused_unparsable_and_long_texts_are_not_kept() {
        let limits = limits(false);
        for text in [
            "{ __schema { types { name } } }",
            "{ user(id: ",
            "{ me { id } }",
        ] {
            let mut request = Request::new(text);
            let admitted = limits.admit(&mut request, &types()).is_ok();
            assert_eq!(limits.documents.get(text).is_some(), admitted, "{text}");
        }
        // A second time, the refusal is the same.
        assert!(
            limits
                .admit(
                    &mut Request::new("{ __schema { types { name } } }"),
                    &types()
                )
                .is_err()
        );
        let long = format!("{{ me {{ id }} }}{}", " ".repeat(MAX_CACHED_TEXT));
        limits
            .admit(&mut Request::new(long.clone()), &types())
            .expect("admitted");
        assert!(limits.documents.get(&long).is_none());
    }

    #[test]
    fn the_cache_keeps_the_most_recently_used_texts() {
        let limits = limits(true);
        let text = |i: usize| format!("{{ a{i}: __typename }}");
        for i in 0..=CACHED_DOCUMENTS {
            limits
                .admit(&mut Request::new(text(i)), &types())
                .expect("admitted");
            if i == 0 {
                continue;
            }
            // The first stays in use, so it is never the least recently used.
            assert!(limits.documents.get(&text(0)).is_some());
        }
        assert!(
            limits.documents.get(&text(1)).is_none(),
            "the oldest unused went"
        );
        assert!(limits.documents.get(&text(CACHED_DOCUMENTS)).is_some());
    }

    #[test]
    fn fields_count_aliases_typename_and_every_spread() {
        assert_eq!(fields("{ a: __typename b: __typename me { id } }"), 4);
        assert_eq!(
            fields("{ me { ...F } other: me { ...F } } fragment F on User { id username }"),
            6
        );
        // A fragment spreading itself is counted once on each path, not forever.
        assert_eq!(fields("{ me { ...F } } fragment F on User { id ...F }"), 2);
    }
}
