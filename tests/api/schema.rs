//! The checked-in `schema.graphql` is the contract: it must match the code.

#[test]
fn schema_graphql_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = messenger::graphql::sdl();
    assert!(
        checked_in == generated,
        "schema.graphql is out of date with the code. Regenerate it with:\n\n    \
         cargo run -- print-schema > schema.graphql\n\nand review the diff."
    );
}

#[test]
fn every_type_and_field_has_a_description() {
    let sdl = messenger::graphql::sdl();
    let mut undocumented = Vec::new();
    let mut in_description = false;
    let mut described = false;
    for line in sdl.lines() {
        let t = line.trim();
        if in_description {
            if t.ends_with("\"\"\"") {
                in_description = false;
                described = true;
            }
            continue;
        }
        if let Some(rest) = t.strip_prefix("\"\"\"") {
            if rest.ends_with("\"\"\"") {
                described = true;
            } else {
                in_description = true;
            }
            continue;
        }
        if t.starts_with('"') {
            described = true;
            continue;
        }
        if t.is_empty() || t == "}" {
            described = false;
            continue;
        }
        let generated = ["schema", "query:", "mutation:", "subscription:", "directive "]
            .iter()
            .any(|p| t.starts_with(p))
            // Relay types that async-graphql generates for our connections (their fields
            // carry its descriptions).
            || (t.starts_with("type ") && (t.ends_with("Connection {") || t.ends_with("Edge {")));
        if !described && !generated {
            undocumented.push(t.to_owned());
        }
        described = false;
    }
    assert!(undocumented.is_empty(), "undocumented: {undocumented:#?}");
}
