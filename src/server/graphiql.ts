// Owns GraphiQL: the page the gateway serves to browsers at /graphql, with
// every script, style, font and editor worker inlined (no other origin is ever
// asked, so it works offline), and the query it opens with.

import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * yoga's built-in page loads @graphql-yoga/graphiql 4.5.1 from unpkg (so it
 * never appears offline), and 4.5.x ignores `defaultQuery`: its YogaGraphiQL
 * always hands GraphiQL 5 its welcome comment as the initial query, which
 * GraphiQL prefers over `defaultQuery`, so the editor shows the welcome text
 * and Run sends a document of comments ("Syntax Error: Unexpected <EOF>";
 * graphql-hive/graphql-yoga#3979). The bundle of @graphql-yoga/render-graphiql,
 * released with graphql-yoga, inlines a YogaGraphiQL that leaves the initial
 * query unset when `defaultQuery` or `defaultTabs` is configured, and inlines
 * the CSS and editor workers too. The page is about 9 MB, so it is rendered
 * once per set of options, and its module is loaded on the first page asked
 * for: loading it at start took about a third of a second and 40 MiB, for a
 * page production turns off (bench/README.md, "Speed").
 */
export function createGraphiQLRenderer(): (options?: GraphiQLOptions) => Promise<string> {
  let cached: { key: string; html: Promise<string> } | undefined;
  return (options) => {
    const key = JSON.stringify(options ?? {});
    if (cached?.key !== key) {
      cached = {
        key,
        html: import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(options)),
      };
    }
    return cached.html;
  };
}

/**
 * The query GraphiQL opens with: the first page of customers with every field,
 * so a newcomer sees real-looking data at once. main.ts passes it, saying
 * whether the data comes from the built-in simulator.
 */
export function exampleQuery({ simulated }: { simulated: boolean }): string {
  // Short lines: the editor pane is about 55 characters wide.
  const comments = simulated
    ? ['# SIMULATED DATA: the built-in Partner Center simulator.', '# Sample customer ids are in the start banner.']
    : ['# Send "Authorization: Bearer <token>" under Headers.'];
  return `${[...comments, '# Next page: pass pageInfo.endCursor as after.'].join('\n')}
query CustomerListPage {
  customerList(first: 10) {
    edges {
      cursor
      node {
        id
        companyName
        domain
        relationshipToPartner
        mcaAcceptance {
          accepted
          directlySigned
          attestations {
            dateAgreed
            currentTemplate
          }
        }
        qualifications {
          qualification
          kind
          vettingStatus
          vettingReason
          vettingCreatedDate
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
`;
}
