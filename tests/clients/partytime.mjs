// Parse one RSS feed with podcast-partytime (the Podcast Index's parser) and print the result as
// JSON: {"warnings": [...], "feed": <parseFeed's object>}.
//
//   node partytime.mjs FEED.xml      (or the XML on standard input)
//
// partytime logs its complaints about a feed with pino on standard output; they are collected
// into "warnings" instead, so standard output is one JSON document. Exit 1 when the feed cannot be
// parsed at all (parseFeed returns null).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { logger } = require("podcast-partytime/dist/logger");
const { parseFeed } = require("podcast-partytime");

const warnings = [];
for (const level of ["fatal", "error", "warn"]) {
  logger[level] = (...args) => {
    const text = args
      .map((arg) => (arg instanceof Error ? arg.stack : typeof arg === "string" ? arg : JSON.stringify(arg)))
      .join(" ");
    warnings.push(`${level}: ${text}`);
  };
}

const source = process.argv[2];
const xml = readFileSync(source ?? 0, "utf8");
const feed = parseFeed(xml);
if (feed === null || feed === undefined) {
  process.stderr.write(`partytime could not parse ${source ?? "standard input"}\n`);
  for (const warning of warnings) process.stderr.write(`${warning.slice(0, 500)}\n`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({ warnings, feed }, null, 1));
process.stdout.write("\n");
