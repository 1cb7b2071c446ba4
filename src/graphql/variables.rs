//! A request's variable values checked against the types its operation declares, on every
//! request, before the schema runs.
//!
//! The spec makes a value that does not fit its variable's type a request error. async-graphql
//! finds it in validation (`ArgumentsOfCorrectType` substitutes the values into the
//! arguments), the one rule that depends on more than the document. Checking the values here
//! instead lets a document that has passed validation once skip it afterwards (see
//! [`super::gateway::Gateway`]): validation walks the whole document with twenty rules and
//! was a fifth of the instructions of a `user(id)` request, while this walks the variables.
//! A variable may be used only where its type fits (`VariableInAllowedPosition`, checked when
//! the document was first validated), so a value that fits the declared type fits every
//! argument the variable is passed to.
//!
//! Written here because async-graphql keeps its value check (`is_valid_input_value`) and the
//! schema's registry private; this follows that check, rule for rule, over a registry built
//! from the same types, except that an input object's variable given something other than an
//! object is refused (async-graphql lets it through to fail in the field).

use std::collections::HashSet;
use std::fmt::Write as _;

use async_graphql::parser::types::OperationDefinition;
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{OutputType, ServerError, SubscriptionType, Value, Variables};

use super::limits::{VALIDATION_FAILED, with_code};
use super::{Mutation, Query, Subscription};

/// The schema's input types, by name.
pub struct VariableTypes {
    registry: Registry,
}

impl Default for VariableTypes {
    /// The input types of the schema's query, mutation and subscription roots.
    fn default() -> Self {
        let mut registry = Registry::default();
        <Query as OutputType>::create_type_info(&mut registry);
        <Mutation as OutputType>::create_type_info(&mut registry);
        <Subscription as SubscriptionType>::create_type_info(&mut registry);
        Self { registry }
    }
}

impl VariableTypes {
    /// Whether the type `name` is known (input types are known once a field takes them).
    #[cfg(test)]
    fn knows(&self, name: &str) -> bool {
        self.registry.types.contains_key(name)
    }

    /// The first of `operation`'s variables whose value in `variables` does not fit its
    /// declared type, as a `GRAPHQL_VALIDATION_FAILED` error at its definition. A variable
    /// left out is not checked here (see `limits::missing_variable`), nor one whose declared
    /// type is not an input type of the schema (validation refuses the document).
    pub fn check(
        &self,
        operation: &OperationDefinition,
        variables: &Variables,
    ) -> Result<(), ServerError> {
        for definition in &operation.variable_definitions {
            let name = &definition.node.name.node;
            let Some(value) = variables.get(name) else {
                continue;
            };
            let declared = definition.node.var_type.node.to_string();
            let mut path = String::new();
            if let Some(reason) = self.misfit(&declared, value, &mut path) {
                let at = if path.is_empty() {
                    String::new()
                } else {
                    format!(" at \"{path}\"")
                };
                let error = ServerError::new(
                    format!("Variable \"${name}\" got an invalid value{at}: {reason}."),
                    Some(definition.pos),
                );
                return Err(with_code(error, VALIDATION_FAILED));
            }
        }
        Ok(())
    }

    /// Why `value` does not fit the type `ty` (written as in SDL), if it does not; `path` is
    /// where in the variable's value it is (`input.memberIds.2`).
    fn misfit(&self, ty: &str, value: &Value, path: &mut String) -> Option<String> {
        match MetaTypeName::create(ty) {
            MetaTypeName::NonNull(inner) => match value {
                Value::Null => Some(format!("expected type \"{ty}\"")),
                _ => self.misfit(inner, value, path),
            },
            MetaTypeName::List(item) => match value {
                Value::List(items) => items.iter().enumerate().find_map(|(index, value)| {
                    let len = path.len();
                    push_segment(path, format_args!("{index}"));
                    let reason = self.misfit(item, value, path);
                    if reason.is_none() {
                        path.truncate(len);
                    }
                    reason
                }),
                Value::Null => None,
                // A single value stands for a list of one.
                _ => self.misfit(item, value, path),
            },
            MetaTypeName::Named(_) if matches!(value, Value::Null) => None,
            MetaTypeName::Named(name) => match self.registry.types.get(name)? {
                MetaType::Scalar {
                    is_valid: Some(is_valid),
                    ..
                } => (!is_valid(value)).then(|| format!("expected type \"{name}\"")),
                MetaType::Scalar { is_valid: None, .. } => None,
                MetaType::Enum { enum_values, .. } => match value {
                    Value::Enum(v) if enum_values.contains_key(v.as_str()) => None,
                    Value::String(v) if enum_values.contains_key(v.as_str()) => None,
                    Value::Enum(_) | Value::String(_) => {
                        Some(format!("\"{name}\" has no value {value}"))
                    }
                    _ => Some(format!("expected type \"{name}\"")),
                },
                MetaType::InputObject {
                    input_fields,
                    oneof,
                    ..
                } => {
                    let Value::Object(fields) = value else {
                        return Some(format!("expected type \"{name}\""));
                    };
                    if *oneof && (fields.len() != 1 || fields.values().any(|v| *v == Value::Null)) {
                        return Some(format!("\"{name}\" takes exactly one field, not null"));
                    }
                    let mut unknown: HashSet<&str> = fields.keys().map(|k| k.as_str()).collect();
                    for field in input_fields.values() {
                        unknown.remove(field.name.as_str());
                        match fields.get(field.name.as_str()) {
                            Some(value) => {
                                let len = path.len();
                                push_segment(path, format_args!("{}", field.name));
                                let reason = self.misfit(&field.ty, value, path);
                                if reason.is_some() {
                                    return reason;
                                }
                                path.truncate(len);
                            }
                            None if MetaTypeName::create(&field.ty).is_non_null()
                                && field.default_value.is_none() =>
                            {
                                return Some(format!(
                                    "field \"{}\" of type \"{}\" is required but not provided",
                                    field.name, field.ty
                                ));
                            }
                            None => {}
                        }
                    }
                    let mut unknown: Vec<&str> = unknown.into_iter().collect();
                    unknown.sort_unstable();
                    unknown
                        .first()
                        .map(|field| format!("\"{name}\" has no field \"{field}\""))
                }
                // Output types cannot be declared for variables (validation refuses them).
                _ => None,
            },
        }
    }
}

/// Appends `segment` to a dotted path.
fn push_segment(path: &mut String, segment: std::fmt::Arguments<'_>) {
    if !path.is_empty() {
        path.push('.');
    }
    // Writing into a `String` cannot fail.
    let _ = path.write_fmt(segment);
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;
    use async_graphql::parser::types::DocumentOperations;

    /// The error for `variables` (JSON) of the one operation of `query`, if any.
    fn check(types: &VariableTypes, query: &str, variables: serde_json::Value) -> Option<String> {
        let document = parse_query(query).expect("parses");
        let DocumentOperations::Single(operation) = &document.operations else {
            panic!("one operation");
        };
        types
            .check(&operation.node, &Variables::from_json(variables))
            .err()
            .map(|e| e.message)
    }

    #[test]
    fn values_that_fit_pass() {
        let types = VariableTypes::default();
        let send = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }";
        let fits = [
            (
                "query($id: ID!) { user(id: $id) { id } }",
                serde_json::json!({ "id": "u" }),
            ),
            (
                "query($id: ID!) { user(id: $id) { id } }",
                serde_json::json!({ "id": 7 }),
            ),
            (
                "query($n: Int) { sessions(first: $n) { edges { cursor } } }",
                serde_json::json!({ "n": null }),
            ),
            (
                send,
                serde_json::json!({ "i": { "sessionId": "s", "body": "hi" } }),
            ),
            (
                "query($ids: [ID!]) { q(ids: $ids) }",
                serde_json::json!({ "ids": "one" }),
            ),
        ];
        for (query, variables) in fits {
            assert_eq!(check(&types, query, variables.clone()), None, "{variables}");
        }
    }

    #[test]
    fn values_that_do_not_fit_are_refused_with_where_and_why() {
        let types = VariableTypes::default();
        let user = "query($id: ID!) { user(id: $id) { id } }";
        let send = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }";
        let ids = "query($ids: [ID!]!) { q(ids: $ids) }";
        let refused = [
            (
                user,
                serde_json::json!({ "id": null }),
                r#"expected type "ID!""#,
            ),
            (
                user,
                serde_json::json!({ "id": [1] }),
                r#"expected type "ID""#,
            ),
            (
                user,
                serde_json::json!({ "id": { "a": 1 } }),
                r#"expected type "ID""#,
            ),
            (
                "query($n: Int) { sessions(first: $n) { edges { cursor } } }",
                serde_json::json!({ "n": 1.5 }),
                r#"expected type "Int""#,
            ),
            (
                send,
                serde_json::json!({ "i": "text" }),
                r#"expected type "SendMessageInput""#,
            ),
            (
                send,
                serde_json::json!({ "i": { "body": "hi" } }),
                r#"field "sessionId" of type "ID!" is required"#,
            ),
            (
                send,
                serde_json::json!({ "i": { "sessionId": "s", "body": 4 } }),
                r#"at "body""#,
            ),
            (
                send,
                serde_json::json!({ "i": { "sessionId": "s", "body": "hi", "extra": 1 } }),
                r#"has no field "extra""#,
            ),
            (
                ids,
                serde_json::json!({ "ids": ["a", null] }),
                r#"at "1": expected type "ID!""#,
            ),
        ];
        for (query, variables, expected) in refused {
            let error = check(&types, query, variables.clone())
                .unwrap_or_else(|| panic!("{variables} passed"));
            assert!(error.contains(expected), "{variables}: {error}");
        }
    }

    #[test]
    fn every_input_type_of_the_schema_is_known() {
        let types = VariableTypes::default();
        let sdl = crate::graphql::sdl();
        let inputs: Vec<&str> = sdl
            .lines()
            .filter_map(|line| {
                let rest = ["input ", "enum ", "scalar "]
                    .iter()
                    .find_map(|kind| line.strip_prefix(kind))?;
                rest.split_whitespace().next()
            })
            .collect();
        assert!(inputs.contains(&"SendMessageInput"), "{inputs:?}");
        for name in ["ID", "String", "Int", "Boolean"].iter().chain(&inputs) {
            assert!(types.knows(name), "{name} is missing");
        }
    }

    #[test]
    fn enums_take_their_values_by_name() {
        let types = VariableTypes::default();
        assert!(types.knows("MemberRole"), "an enum some mutation takes");
        let query = "mutation($r: MemberRole!) { m(role: $r) }";
        assert_eq!(
            check(&types, query, serde_json::json!({ "r": "ADMIN" })),
            None
        );
        let error = check(&types, query, serde_json::json!({ "r": "KING" })).expect("refused");
        assert!(error.contains("has no value"), "{error}");
    }
}
