// GraphiQL at `/graphql`, built from pinned npm packages and served by the server from its
// embedded assets: no CDN, so it works offline and runs only code we shipped.
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import "graphiql/style.css";
import "./graphiql.css";

const socketScheme = location.protocol === "https:" ? "wss" : "ws";
const fetcher = createGraphiQLFetcher({
  url: "/graphql",
  subscriptionUrl: `${socketScheme}://${location.host}/graphql/ws`,
});

createRoot(document.getElementById("graphiql")!).render(
  <GraphiQL fetcher={fetcher} defaultEditorToolsVisibility="headers" />,
);
