/**
 * Finds every AWS error code the stage functions handle by name, from the files' syntax trees (Babel's parser
 * with its TypeScript plugin; imports followed by hand: a type-checked program would parse the SDKs' declarations
 * too; the type check itself is TypeScript 7, which has no JavaScript API):
 * - the code arguments of `hasErrorCode(error, ...)`, string literals, arrays and spreads of constants,
 *   followed through imports (compared with error.name, Code and code: `name-or-code`);
 * - every constant array named `..._CODES` (matched the same way, e.g. TRANSIENT_AWS_CODES);
 * - comparisons of `<x>.Code` / `<x>.code` with a string (the wire code: `wire-code`) and of an error's
 *   `.name` with a string (`name`: SDK v3's name, the shape name of a modeled error).
 * Each code carries the services the handling file's SDK clients talk to (all of them when it uses none).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parse } from "@babel/parser";
import { VISITOR_KEYS } from "@babel/types";
import type * as t from "@babel/types";
import type { CodeUse } from "./errorCodes.js";
import { SERVICE_NAMES, SERVICE_SOURCES, type ServiceName } from "./serviceModels.js";

export interface HandledCode {
  code: string;
  use: CodeUse;
  /** `<file>:<line>` of the string literal. */
  at: string;
  /** How the scanner reached it: `hasErrorCode`, `hasErrorCode ...IMAGE_GONE`, `TRANSIENT_AWS_CODES`, `.Code ===`. */
  via: string;
  /** The services whose errors can reach that place. */
  services: ServiceName[];
}

export interface HandledCodeScan {
  codes: HandledCode[];
  /** Arguments or comparisons the scanner could not resolve to strings (each is a gap to look at). */
  unresolved: string[];
}

interface Source {
  file: string;
  text: string;
  ast: t.File;
}

/** A node's children, in source order: the fields @babel/types' VISITOR_KEYS names for its type. */
function children(node: t.Node): t.Node[] {
  const fields = node as unknown as Record<string, unknown>;
  return (VISITOR_KEYS[node.type] ?? []).flatMap((key) => [fields[key]].flat().filter((child): child is t.Node => Boolean(child) && typeof (child as { type?: unknown }).type === "string"));
}

const textOf = (source: Source, node: t.Node) => source.text.slice(node.start ?? 0, node.end ?? 0);

/** A string literal or a template without substitutions: its value. */
function stringValue(node: t.Node): string | undefined {
  if (node.type === "StringLiteral") return node.value;
  if (node.type === "TemplateLiteral" && node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? undefined;
  return undefined;
}

/** A file's top-level statements, with `export` declarations unwrapped. */
function topLevel(source: Source): t.Statement[] {
  return source.ast.program.body.map((statement) => (statement.type === "ExportNamedDeclaration" && statement.declaration ? statement.declaration : statement));
}

/** The local name -> imported name of a relative or package import's named specifiers. */
function namedImports(statement: t.ImportDeclaration): { local: string; imported: string }[] {
  return statement.specifiers.flatMap((specifier) =>
    specifier.type === "ImportSpecifier"
      ? [{ local: specifier.local.name, imported: specifier.imported.type === "Identifier" ? specifier.imported.name : specifier.imported.value }]
      : [],
  );
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Scans `<root>/functions/**\/*.ts` (or the given files). `clientsFile` defines the SDK clients. */
export function findHandledErrorCodes(options: { root: string; files?: string[]; clientsFile?: string }): HandledCodeScan {
  const files = (options.files ?? tsFiles(join(options.root, "functions"))).map((f) => resolve(f));
  const clientsFile = resolve(options.clientsFile ?? join(options.root, "functions/lib/clients.ts"));
  const sources = new Map<string, Source>();
  const load = (file: string): Source | undefined => {
    let source = sources.get(file);
    if (!source) {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch {
        return undefined;
      }
      source = { file, text, ast: parse(text, { sourceType: "module", plugins: ["typescript"], sourceFilename: file }) };
      sources.set(file, source);
    }
    return source;
  };
  const clientServices = servicesOfClients(load(clientsFile));
  const allServices = [...new Set(clientServices.values())];
  const scan: HandledCodeScan = { codes: [], unresolved: [] };
  const seen = new Set<string>();
  const where = (source: Source, node: t.Node) => `${relative(options.root, source.file)}:${node.loc?.start.line ?? 0}`;

  const add = (literals: Literal[], use: CodeUse, via: string, services: ServiceName[]) => {
    for (const literal of literals) {
      const at = where(literal.source, literal.node);
      const key = `${at}|${literal.text}|${use}`;
      if (seen.has(key)) continue;
      seen.add(key);
      scan.codes.push({ code: literal.text, use, at, via, services });
    }
  };

  for (const file of files) {
    const source = load(file);
    if (!source) continue;
    const used = servicesUsedBy(source, clientServices);
    const services = used.length > 0 ? used : allServices;
    const visit = (node: t.Node): void => {
      if (node.type === "CallExpression" && node.callee.type === "Identifier" && node.callee.name === "hasErrorCode") {
        for (const arg of node.arguments.slice(1)) {
          const expression = arg.type === "SpreadElement" ? arg.argument : arg;
          const literals = resolveStrings(expression, source, load);
          const via = arg.type === "SpreadElement" ? `hasErrorCode ...${textOf(source, expression)}` : "hasErrorCode";
          if (literals) add(literals, "name-or-code", via, services);
          else scan.unresolved.push(`${where(source, arg)} hasErrorCode argument ${textOf(source, arg)}`);
        }
      }
      if (node.type === "VariableDeclarator" && node.id.type === "Identifier" && /_CODES$/.test(node.id.name) && node.init) {
        const literals = resolveStrings(node.init, source, load);
        if (literals) add(literals, "name-or-code", node.id.name, services);
        else scan.unresolved.push(`${where(source, node)} ${node.id.name}`);
      }
      if (node.type === "BinaryExpression" && ["===", "!==", "==", "!="].includes(node.operator)) {
        for (const [side, other] of [
          [node.left, node.right],
          [node.right, node.left],
        ] as const) {
          const property = comparedProperty(side, source);
          if (!property) continue;
          const text = stringValue(other);
          if (text === undefined) continue;
          const literal = [{ text, node: other, source }];
          if (property.name === "Code" || property.name === "code") add(literal, "wire-code", `.${property.name} ===`, services);
          if (property.name === "name" && /^(e|err|error|cause|caught|\w*Error)$/i.test(property.object)) add(literal, "name", ".name ===", services);
        }
      }
      for (const child of children(node)) visit(child);
    };
    visit(source.ast.program);
  }
  return scan;
}

interface Literal {
  text: string;
  node: t.Node;
  source: Source;
}

/** `x.Code`, `x?.Code`, `x.y.Code`: the property name and the text of its object. */
function comparedProperty(node: t.Node, source: Source): { name: string; object: string } | undefined {
  if ((node.type === "MemberExpression" || node.type === "OptionalMemberExpression") && !node.computed && node.property.type === "Identifier")
    return { name: node.property.name, object: textOf(source, node.object) };
  return undefined;
}

/** The string values an expression stands for (literals, arrays, spreads, `as const`, constants, imports). */
function resolveStrings(expression: t.Node, source: Source, load: (file: string) => Source | undefined, depth = 0): Literal[] | undefined {
  if (depth > 10) return undefined;
  const text = stringValue(expression);
  if (text !== undefined) return [{ text, node: expression, source }];
  if (expression.type === "TSAsExpression" || expression.type === "TSSatisfiesExpression" || expression.type === "TSTypeAssertion" || expression.type === "ParenthesizedExpression")
    return resolveStrings(expression.expression, source, load, depth + 1);
  if (expression.type === "ArrayExpression") {
    const out: Literal[] = [];
    for (const element of expression.elements) {
      if (!element) return undefined;
      const inner = resolveStrings(element.type === "SpreadElement" ? element.argument : element, source, load, depth + 1);
      if (!inner) return undefined;
      out.push(...inner);
    }
    return out;
  }
  if (expression.type === "Identifier") {
    const declaration = findDeclaration(expression.name, source, load);
    if (!declaration?.node.init) return undefined;
    return resolveStrings(declaration.node.init, declaration.source, load, depth + 1);
  }
  return undefined;
}

/** A variable's declaration in the file, or, for an imported name, in the module it comes from. */
function findDeclaration(name: string, source: Source, load: (file: string) => Source | undefined): { node: t.VariableDeclarator; source: Source } | undefined {
  let found: t.VariableDeclarator | undefined;
  const visit = (node: t.Node): void => {
    if (found) return;
    if (node.type === "VariableDeclarator" && node.id.type === "Identifier" && node.id.name === name) found = node;
    else for (const child of children(node)) visit(child);
  };
  visit(source.ast.program);
  if (found) return { node: found, source };
  for (const statement of topLevel(source)) {
    if (statement.type !== "ImportDeclaration") continue;
    const specifier = namedImports(statement).find((e) => e.local === name);
    if (!specifier) continue;
    const module = statement.source.value;
    if (!module.startsWith(".")) return undefined;
    const target = load(resolve(dirname(source.file), module.replace(/\.js$/, ".ts")));
    return target ? findDeclaration(specifier.imported, target, load) : undefined;
  }
  return undefined;
}

/** `export const ec2 = new EC2Client(...)` in clients.ts: variable -> service, via the client's package. */
function servicesOfClients(source: Source | undefined): Map<string, ServiceName> {
  const packageOfClass = new Map<string, string>();
  const services = new Map<string, ServiceName>();
  if (!source) return services;
  for (const statement of topLevel(source)) {
    if (statement.type === "ImportDeclaration") for (const e of namedImports(statement)) packageOfClass.set(e.local, statement.source.value);
    if (statement.type === "VariableDeclaration") {
      for (const declaration of statement.declarations) {
        const init = declaration.init;
        if (declaration.id.type !== "Identifier" || !init || init.type !== "NewExpression" || init.callee.type !== "Identifier") continue;
        const pkg = packageOfClass.get(init.callee.name);
        const service = SERVICE_NAMES.find((s) => SERVICE_SOURCES[s].sdkV3 === pkg);
        if (service) services.set(declaration.id.name, service);
      }
    }
  }
  return services;
}

/** The services a file talks to: the clients it imports from the clients module. */
function servicesUsedBy(source: Source, clients: Map<string, ServiceName>): ServiceName[] {
  const used = new Set<ServiceName>();
  for (const statement of topLevel(source)) {
    if (statement.type !== "ImportDeclaration" || !/clients\.js$/.test(statement.source.value)) continue;
    for (const e of namedImports(statement)) {
      const service = clients.get(e.imported);
      if (service) used.add(service);
    }
  }
  return [...used];
}
