/**
 * Finds every AWS error code the stage functions handle by name, with the TypeScript compiler API (syntax
 * only, and imports followed by hand: a type-checked program would parse the SDKs' declarations too):
 * - the code arguments of `hasErrorCode(error, ...)`, string literals, arrays and spreads of constants,
 *   followed through imports (compared with error.name, Code and code: `name-or-code`);
 * - every constant array named `..._CODES` (matched the same way, e.g. TRANSIENT_AWS_CODES);
 * - comparisons of `<x>.Code` / `<x>.code` with a string (the wire code: `wire-code`) and of an error's
 *   `.name` with a string (`name`: SDK v3's name, the shape name of a modeled error).
 * Each code carries the services the handling file's SDK clients talk to (all of them when it uses none).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
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
  ast: ts.SourceFile;
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
      source = { file, ast: ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS) };
      sources.set(file, source);
    }
    return source;
  };
  const clientServices = servicesOfClients(load(clientsFile));
  const allServices = [...new Set(clientServices.values())];
  const scan: HandledCodeScan = { codes: [], unresolved: [] };
  const seen = new Set<string>();
  const where = (source: Source, node: ts.Node) => `${relative(options.root, source.file)}:${source.ast.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;

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
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "hasErrorCode") {
        for (const arg of node.arguments.slice(1)) {
          const expression = ts.isSpreadElement(arg) ? arg.expression : arg;
          const literals = resolveStrings(expression, source, load);
          const via = ts.isSpreadElement(arg) ? `hasErrorCode ...${expression.getText(source.ast)}` : "hasErrorCode";
          if (literals) add(literals, "name-or-code", via, services);
          else scan.unresolved.push(`${where(source, arg)} hasErrorCode argument ${arg.getText(source.ast)}`);
        }
      }
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && /_CODES$/.test(node.name.text) && node.initializer) {
        const literals = resolveStrings(node.initializer, source, load);
        if (literals) add(literals, "name-or-code", node.name.text, services);
        else scan.unresolved.push(`${where(source, node)} ${node.name.text}`);
      }
      if (ts.isBinaryExpression(node) && [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken].includes(node.operatorToken.kind)) {
        for (const [side, other] of [
          [node.left, node.right],
          [node.right, node.left],
        ] as const) {
          const property = comparedProperty(side);
          if (!property) continue;
          const literal = ts.isStringLiteralLike(other) ? [{ text: other.text, node: other, source }] : undefined;
          if (!literal) continue;
          if (property.name === "Code" || property.name === "code") add(literal, "wire-code", `.${property.name} ===`, services);
          if (property.name === "name" && /^(e|err|error|cause|caught|\w*Error)$/i.test(property.object)) add(literal, "name", ".name ===", services);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source.ast);
  }
  return scan;
}

interface Literal {
  text: string;
  node: ts.Node;
  source: Source;
}

/** `x.Code`, `x?.Code`, `x.y.Code`: the property name and the text of its object. */
function comparedProperty(node: ts.Expression): { name: string; object: string } | undefined {
  if (ts.isPropertyAccessExpression(node)) return { name: node.name.text, object: node.expression.getText() };
  return undefined;
}

/** The string values an expression stands for (literals, arrays, spreads, `as const`, constants, imports). */
function resolveStrings(expression: ts.Expression, source: Source, load: (file: string) => Source | undefined, depth = 0): Literal[] | undefined {
  if (depth > 10) return undefined;
  if (ts.isStringLiteralLike(expression)) return [{ text: expression.text, node: expression, source }];
  if (ts.isAsExpression(expression) || ts.isSatisfiesExpression(expression) || ts.isParenthesizedExpression(expression) || ts.isTypeAssertionExpression(expression))
    return resolveStrings(expression.expression, source, load, depth + 1);
  if (ts.isArrayLiteralExpression(expression)) {
    const out: Literal[] = [];
    for (const element of expression.elements) {
      const inner = resolveStrings(ts.isSpreadElement(element) ? element.expression : element, source, load, depth + 1);
      if (!inner) return undefined;
      out.push(...inner);
    }
    return out;
  }
  if (ts.isIdentifier(expression)) {
    const declaration = findDeclaration(expression.text, source, load);
    if (!declaration?.node.initializer) return undefined;
    return resolveStrings(declaration.node.initializer, declaration.source, load, depth + 1);
  }
  return undefined;
}

/** A variable's declaration in the file, or, for an imported name, in the module it comes from. */
function findDeclaration(name: string, source: Source, load: (file: string) => Source | undefined): { node: ts.VariableDeclaration; source: Source } | undefined {
  let found: ts.VariableDeclaration | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === name) found = node;
    else ts.forEachChild(node, visit);
  };
  visit(source.ast);
  if (found) return { node: found, source };
  for (const statement of source.ast.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const bindings = statement.importClause?.namedBindings;
    if (!bindings || !ts.isNamedImports(bindings)) continue;
    const specifier = bindings.elements.find((e) => e.name.text === name);
    if (!specifier) continue;
    const module = statement.moduleSpecifier.text;
    if (!module.startsWith(".")) return undefined;
    const target = load(resolve(dirname(source.file), module.replace(/\.js$/, ".ts")));
    return target ? findDeclaration((specifier.propertyName ?? specifier.name).text, target, load) : undefined;
  }
  return undefined;
}

/** `export const ec2 = new EC2Client(...)` in clients.ts: variable -> service, via the client's package. */
function servicesOfClients(source: Source | undefined): Map<string, ServiceName> {
  const packageOfClass = new Map<string, string>();
  const services = new Map<string, ServiceName>();
  if (!source) return services;
  for (const statement of source.ast.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const bindings = statement.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) for (const e of bindings.elements) packageOfClass.set(e.name.text, statement.moduleSpecifier.text);
    }
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        const init = declaration.initializer;
        if (!ts.isIdentifier(declaration.name) || !init || !ts.isNewExpression(init) || !ts.isIdentifier(init.expression)) continue;
        const pkg = packageOfClass.get(init.expression.text);
        const service = SERVICE_NAMES.find((s) => SERVICE_SOURCES[s].sdkV3 === pkg);
        if (service) services.set(declaration.name.text, service);
      }
    }
  }
  return services;
}

/** The services a file talks to: the clients it imports from the clients module. */
function servicesUsedBy(source: Source, clients: Map<string, ServiceName>): ServiceName[] {
  const used = new Set<ServiceName>();
  for (const statement of source.ast.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier) || !/clients\.js$/.test(statement.moduleSpecifier.text)) continue;
    const bindings = statement.importClause?.namedBindings;
    if (bindings && ts.isNamedImports(bindings))
      for (const e of bindings.elements) {
        const service = clients.get((e.propertyName ?? e.name).text);
        if (service) used.add(service);
      }
  }
  return [...used];
}
