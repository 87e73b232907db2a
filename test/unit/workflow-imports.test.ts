// The import rule of workflow code (README "Architecture"): a workflow file imports only
// `@temporalio/workflow`, `contract.ts` modules and pure policy modules, and activities by type
// only; what those modules import obeys the same rule. Anything else (pg, nodemailer, node:*,
// the client) would either break the workflow sandbox or make replays depend on I/O.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../..');

/** Pure policy: no I/O, no clock, no randomness of their own; safe inside a workflow. */
const PURE_POLICY = [
  'src/delivery/attempt.ts',
  'src/delivery/classify.ts',
  'src/delivery/reply-line.ts',
  'src/delivery/reply-texts.ts',
  'src/delivery/scope.ts',
  'src/delivery/duration.ts',
  'src/delivery/schedule.ts',
  'src/delivery/states.ts',
  'src/delivery/summaries.ts',
  'src/webhooks/schedule.ts',
  'src/bounces/late.ts',
  'src/reputation/blame.ts',
  'src/reputation/policy.ts',
  'src/message/address.ts',
  'src/errors.ts',
];
/** Packages a workflow, a contract or a pure module may import values from. */
const PACKAGES = ['@temporalio/workflow', '@temporalio/common'];

interface Import {
  specifier: string;
  typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: Import[] = [];
  for (const node of source.statements) {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      let typeOnly = false;
      if (ts.isImportDeclaration(node)) {
        const clause = node.importClause;
        const named = clause?.namedBindings;
        typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)));
      } else {
        typeOnly = node.isTypeOnly;
      }
      out.push({ specifier: node.moduleSpecifier.text, typeOnly });
    }
  }
  return out;
}

function resolveRelative(from: string, specifier: string): string {
  const base = path.normalize(path.join(path.dirname(from), specifier));
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
    try {
      readFileSync(path.join(ROOT, candidate));
      return candidate;
    } catch {
      // try the next form
    }
  }
  throw new Error(`${from}: cannot resolve ${specifier}`);
}

const isContract = (file: string) => /^src\/[a-z-]+\/contract\.ts$/.test(file);
const isWorkflow = (file: string) => file.startsWith('workflows/');

const WORKFLOW_FILES = readdirSync(path.join(ROOT, 'workflows'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => `workflows/${f}`);

/** Every value import reachable from `roots` that breaks the rule, as "file -> import". */
function violations(roots: string[]): string[] {
  const seen = new Set<string>();
  const queue = [...roots];
  const bad: string[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of importsOf(file)) {
      if (imp.typeOnly) continue;
      if (!imp.specifier.startsWith('.')) {
        if (!PACKAGES.includes(imp.specifier)) bad.push(`${file} -> ${imp.specifier}`);
        continue;
      }
      const target = resolveRelative(file, imp.specifier);
      if (isWorkflow(target) || isContract(target) || PURE_POLICY.includes(target)) queue.push(target);
      else bad.push(`${file} -> ${target}`);
    }
  }
  return bad;
}

test('workflow code imports only @temporalio/workflow, contracts and pure policy (activities by type)', () => {
  assert.ok(WORKFLOW_FILES.includes('workflows/delivery.ts') && WORKFLOW_FILES.includes('workflows/reputation.ts'));
  assert.deepEqual(violations(WORKFLOW_FILES), []);
});

test('the rule flags value imports of I/O modules and packages, and lets type-only imports through', () => {
  // Run from a module that is not workflow code: its I/O imports are what the rule forbids.
  const found = violations(['activities/delivery.ts']);
  assert.ok(found.includes('activities/delivery.ts -> src/delivery/attempts.ts'), found.join('\n'));
  assert.ok(found.includes('activities/delivery.ts -> @temporalio/activity'), found.join('\n'));
  assert.ok(!found.some((v) => v.endsWith('-> pg')), 'pg is imported by type only there');
  assert.ok(importsOf('workflows/delivery.ts').some((i) => i.specifier === '../activities' && i.typeOnly), 'activities are imported by type');
});
