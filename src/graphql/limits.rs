//! Request-level rules every operation passes, over HTTP and the socket alike: a cap on the
//! length of the query text (checked before parsing), a cap on the fields one operation
//! selects (aliases and `__typename` included, fragments counted where they are spread), and
//! a code on every error (`GRAPHQL_PARSE_FAILED`,
//! `GRAPHQL_VALIDATION_FAILED`, or `BAD_USER_INPUT` for a value the schema could not take).
//!
//! Written as an async-graphql extension because the field count needs the parsed document,
//! which only the schema's own parse step has (counting before it would parse twice).

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextSubscribe,
    NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Response, ServerError, ServerResult, ValidationResult, Variables};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

/// Apollo's code for a query that does not parse.
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// Apollo's code for a query that parses but does not fit the schema (or its limits of depth
/// and complexity).
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// The extension: `max_fields` fields at most in one operation; introspection refused with
/// a code when it is switched off (the schema alone would answer `null` without a word).
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Longest query text, in bytes: refused before it is parsed.
    pub max_query_bytes: usize,
    /// Largest number of selected fields in one document.
    pub max_fields: usize,
    /// Whether `__schema` and `__type` may be asked.
    pub introspection: bool,
}

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

fn with_code(mut error: ServerError, code: &str) -> ServerError {
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
/// failure, during it a value the schema could not take (resolvers set their own codes).
fn coded(mut response: Response) -> Response {
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
    let mut counter = FieldCounter {
        document,
        path: HashSet::new(),
        count: 0,
        limit,
    };
    for (_, operation) in document.operations.iter() {
        counter.walk(&operation.node.selection_set.node);
    }
    counter.count
}

struct FieldCounter<'a> {
    document: &'a ExecutableDocument,
    /// The fragments spread on the way to the current selection.
    path: HashSet<&'a Name>,
    count: usize,
    limit: usize,
}

impl<'a> FieldCounter<'a> {
    fn walk(&mut self, set: &'a SelectionSet) {
        for item in &set.items {
            if self.count > self.limit {
                return;
            }
            match &item.node {
                Selection::Field(field) => {
                    self.count += 1;
                    self.walk(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => self.walk(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if let Some(fragment) = self.document.fragments.get(name)
                        && self.path.insert(name)
                    {
                        self.walk(&fragment.node.selection_set.node);
                        self.path.remove(name);
                    }
                }
            }
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestLimits {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        coded(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream).map(coded).boxed()
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Parsing costs in proportion to the text (about 10 ms for 170 KiB in a release
        // build): an oversized one is refused before it.
        if query.len() > self.max_query_bytes {
            let error = ServerError::new(
                format!(
                    "the query text is longer than {} bytes (MESSENGER_MAX_QUERY_BYTES)",
                    self.max_query_bytes
                ),
                None,
            );
            return Err(with_code(error, "BAD_USER_INPUT"));
        }
        let document = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, PARSE_FAILED))?;
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
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| with_code(e, VALIDATION_FAILED))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(query: &str) -> usize {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        count_fields(&document, 1000)
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
