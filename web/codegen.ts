import type { CodegenConfig } from "@graphql-codegen/cli";

// Operation types come from the server's checked-in schema: `graphql(...)` in the sources
// returns a typed document, so no response type is written by hand.
const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: true,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: "string", Upload: "File" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
  silent: true,
};

export default config;
