/**
 * @jest-environment jsdom
 */
/**
 * Every string the extension shows goes through the `nbprov` translation bundle. The msgids are
 * extracted from the sources as a gettext extractor would (literal first arguments of
 * `trans().__` / `trans()._n`), turned into a pseudo-locale catalogue that wraps every literal
 * part in ‹›, and loaded into JupyterLab's own TranslationManager. The runs view and the side
 * panel are then rendered on a store that exercises their branches, and every text node, title,
 * aria-label and placeholder is checked: once the wrapped parts and the fixture's own data (run
 * names, params, metrics, devices, dates…) are taken out, no letter may be left. A string missed,
 * a msgid built at run time, or a string built at module load (before the translator is set) is
 * left in English, and fails here with its place in the DOM. The sources are also read for
 * literals shown as they are (command labels and captions, notifications, DOM texts and
 * attributes), which covers the commands and dialogs the fixture does not render.
 */
import './jsdomshim';

import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

import { DataConnector } from '@jupyterlab/statedb';
import { ILanguageList, ITranslatorConnector, Language, TranslationManager } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { paramLabel, runDisplayName } from '../../core/model';
import { setTranslator, trans } from '../../i18n';
import { RunStore } from '../../store';
import { IRawRecord, validated } from '../../__tests__/records';
import { CellReveal, INbprovTracker, IProjectRuns } from '../../tokens';
import { RunsPanel } from '../panel';
import { runIdentities } from '../runidentity';
import { RunsView } from '../view';
import { formatTime } from '../tablemodel';

const SRC = path.join(__dirname, '../..');

/** Page-side sources: everything but the pure core and the CLI, which stay English (Node CLI). */
function pageSources(dir = SRC): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      return ['core', 'cli', '__tests__'].includes(entry.name) ? [] : pageSources(full);
    }
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

interface IMessage {
  msgid: string;
  plural: string | null;
}

/** Calls `trans().__(…)` / `trans()._n(…)`, with problems: a msgid that is not a literal, a call at module load. */
function extract(): { messages: IMessage[]; problems: string[] } {
  const messages: IMessage[] = [];
  const problems: string[] = [];
  for (const file of pageSources()) {
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf-8'), ts.ScriptTarget.Latest, true);
    const where = (node: ts.Node) =>
      `${path.relative(SRC, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const literal = (node: ts.Expression | undefined): string | null =>
      node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'trans') {
        if (atModuleLoad(node)) {
          problems.push(`${where(node)}: trans() runs at module load, before the translator is set`);
        }
        const access = node.parent;
        if (!ts.isPropertyAccessExpression(access) || !ts.isCallExpression(access.parent)) {
          problems.push(`${where(node)}: trans() not called as trans().__(…) or trans()._n(…)`);
        } else {
          const call = access.parent;
          const method = access.name.text;
          const msgid = literal(call.arguments[0]);
          const plural = method === '_n' ? literal(call.arguments[1]) : null;
          if (method !== '__' && method !== '_n') {
            problems.push(`${where(node)}: trans().${method} is not extracted here`);
          } else if (msgid === null || (method === '_n' && plural === null)) {
            problems.push(`${where(node)}: the msgid is not a string literal, so no catalogue can hold it`);
          } else {
            messages.push({ msgid, plural });
          }
        }
      }
      const shown = shownLiteral(node);
      const phrase = shown === null ? untranslatedPhrase(node, path.relative(SRC, file)) : null;
      if (shown !== null) {
        problems.push(`${where(node)}: ${JSON.stringify(shown)} is shown untranslated`);
      } else if (phrase !== null) {
        problems.push(`${where(node)}: ${JSON.stringify(phrase)} is a phrase outside trans()`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { messages, problems };
}

/** Object keys and DOM properties that hold what the user reads (command labels, captions, notifications). */
const SHOWN_KEYS = new Set(['label', 'caption', 'title', 'placeholder', 'message', 'textContent', 'body']);
const SHOWN_ATTRIBUTES = new Set(['title', 'aria-label', 'placeholder']);

/** A string's or template's literal text (a template's literal parts joined by spaces), else null. */
function literalText(node: ts.Node): string | null {
  return ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)
    ? node.text
    : ts.isTemplateExpression(node)
      ? [node.head.text, ...node.templateSpans.map(span => span.literal.text)].join(' ')
      : null;
}

/** The literal text of a string or template with words in its literal parts, else null. */
function words(node: ts.Node | undefined): string | null {
  if (!node) {
    return null;
  }
  const text = literalText(node);
  return text !== null && /\p{L}{2,}/u.test(text) && !COMMANDS_AND_NAMES.test(text.trim()) ? text : null;
}

/** Not prose: the git command the comparison suggests, and the hash algorithm's name before a hash. */
const COMMANDS_AND_NAMES = /^(git log -p|sha256)$/;

/**
 * A literal with words that is shown as it is: a command's label or caption, a DOM text or
 * attribute, a notification, an element made with its text. The runtime check below sees only
 * what the fixture renders; this one sees every such place in the sources, rendered or not.
 */
function shownLiteral(node: ts.Node): string | null {
  if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && SHOWN_KEYS.has(node.name.text)) {
    return words(node.initializer);
  }
  if (
    ts.isBinaryExpression(node) &&
    node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
    ts.isPropertyAccessExpression(node.left) &&
    SHOWN_KEYS.has(node.left.name.text)
  ) {
    return words(node.right);
  }
  if (ts.isCallExpression(node)) {
    const callee = node.expression;
    const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
    const object = ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) ? callee.expression.text : '';
    if (name === 'setAttribute' && ts.isStringLiteral(node.arguments[0]) && SHOWN_ATTRIBUTES.has(node.arguments[0].text)) {
      return words(node.arguments[1]);
    }
    if (object === 'Notification') {
      return words(node.arguments[0]);
    }
    if (name === 'element') {
      return words(node.arguments[2]);
    }
    if (['append', 'prepend', 'replaceChildren'].includes(name)) {
      return node.arguments.map(words).find(text => text !== null) ?? null;
    }
  }
  return null;
}

/** Two words or more, not parts of a class name or an identifier. */
const PHRASE = /(^|[^\w-])\p{L}{2,}\s+\p{L}{2,}([^\w-]|$)/u;
/** Page sources that show nothing: code and protocol for the kernel, SVG markup, comm rejections (logged). */
const NOT_UI_FILES = new Set(['service.ts', 'icons.ts', 'comm.ts']);
const NOT_SHOWN = new Set([
  // `recording` records' reasons (tracker.ts): journal data, the same whatever the page's language
  'the kernel records (the notebook loaded nbprov)',
  'paused with the toggle',
  'switched on with the toggle',
  'the settings changed',
  'the notebook was renamed',
  'the notebook loads nbprov',
  // the plugin's and its token's descriptions, for developers (JupyterLab's own are not translated)
  'Records the provenance of notebook sessions and training runs.',
  'Provenance tracking of notebooks: run stores and journals.',
  // CSS, commands and the widget model's event names
  'linear-gradient(to right,  )',
  'change:run_ids change:metrics change:x_axis change:tab',
  'git log -p  ',
  // the saved summary's HTML markup (summary.ts; its texts go through trans())
  '<table class="nbprov-summary" style="border-collapse:collapse"><thead> </thead><tbody> </tbody></table>',
  '<div class="nbprov-summary-html"><p><em> </em></p> </div>'
]);

/**
 * Any other literal phrase of the page's sources outside trans(), console, errors and types: the
 * net for strings shown through a path neither check above knows (a message handed to a view).
 */
function untranslatedPhrase(node: ts.Node, file: string): string | null {
  const text = literalText(node);
  if (text === null || !PHRASE.test(text) || NOT_UI_FILES.has(file) || NOT_SHOWN.has(text)) {
    return null;
  }
  for (let up = node.parent; up; up = up.parent) {
    if (ts.isCallExpression(up) && ts.isPropertyAccessExpression(up.expression)) {
      const target = up.expression.expression;
      const isTrans = ts.isCallExpression(target) && ts.isIdentifier(target.expression) && target.expression.text === 'trans';
      if (isTrans || (ts.isIdentifier(target) && target.text === 'console')) {
        return null;
      }
    }
    if (ts.isNewExpression(up) && ts.isIdentifier(up.expression) && /Error$/.test(up.expression.text)) {
      return null;
    }
    if (ts.isThrowStatement(up) || ts.isImportDeclaration(up) || ts.isExportDeclaration(up) || ts.isTypeNode(up)) {
      return null;
    }
  }
  return text;
}

/** True when nothing defers the call: no function around it, nor an instance field (set at construction). */
function atModuleLoad(node: ts.Node): boolean {
  for (let up = node.parent; up; up = up.parent) {
    if (ts.isFunctionLike(up) || ts.isClassStaticBlockDeclaration(up)) {
      return false;
    }
    if (ts.isPropertyDeclaration(up)) {
      return (ts.getCombinedModifierFlags(up) & ts.ModifierFlags.Static) !== 0;
    }
  }
  return true;
}

/** The pseudo-locale: each literal part of a message wrapped, placeholders left for the arguments. */
function pseudo(message: string): string {
  return message
    .split(/(%\d+)/)
    .map(part => (part === '' || /^%\d+$/.test(part) ? part : `‹${part}›`))
    .join('');
}

class PseudoLocale extends DataConnector<Language, Language, { language: string } | undefined> implements ITranslatorConnector {
  constructor(private readonly _messages: IMessage[]) {
    super();
  }

  fetch(): Promise<ILanguageList>;
  fetch(options: { language: string }): Promise<Language>;
  async fetch(): Promise<Language | ILanguageList> {
    const catalogue: Record<string, string[]> = {};
    for (const { msgid, plural } of this._messages) {
      catalogue[msgid] = plural === null ? [pseudo(msgid)] : [pseudo(msgid), pseudo(plural)];
    }
    const metadata = { domain: 'nbprov', language: 'xx-PS', plural_forms: 'nplurals=2; plural=(n != 1);' };
    return { message: '', data: { nbprov: Object.assign(catalogue, { '': metadata }) } };
  }
}

// ---- the fixture: runs that take the views through their branches, with distinctive data ----

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const A = 'a1'.repeat(16);
const A2 = 'a1'.repeat(15) + 'ff'; // same name as A: labelled with an id suffix
const B = 'b2'.repeat(16);
const C = 'c3'.repeat(16); // unnamed child of A, still running
const COMMIT_A = '1234567890abcdef1234567890abcdef12345678';
const COMMIT_B = 'fedcba0987654321fedcba0987654321fedcba09';

function series(metric: string, values: number[], ctx: number | null = null) {
  return {
    metric,
    ctx,
    steps: values.map((_, i) => i),
    values,
    timestamps: values.map((_, i) => T0 + i * 1000),
    epochs: values.map(() => 1)
  };
}

function records(): IRawRecord[] {
  let seq = 0;
  const r = (record: { type: string; [field: string]: unknown }): IRawRecord => ({ t: at(seq), ...record, seq: ++seq });
  const git = (commit: string, branch: string | null, dirty: boolean, untracked: string[]) => ({
    git: { commit, branch, remote: 'https://ηost/ρepo', root: '/ρoot', dirty, diff: dirty ? `+ζ ${branch}\n` : '', untracked }
  });
  return [
    r({ type: 'kernel_start', session: 'k', hostname: 'ηost', notebook: 'σweep.ipynb' }),
    r({ type: 'exec_start', exec: 'k-1', cell: 'cell-1', count: 1, source: 'ζ = 1\n' }),
    r({ type: 'exec_end', exec: 'k-1', status: 'ok' }),
    r({ type: 'exec_start', exec: 'k-2', cell: 'cell-1', count: 2, source: 'ζ = 2\n' }),
    r({ type: 'exec_end', exec: 'k-2', status: 'error', ename: 'ΖError', evalue: 'ζ' }),
    r({ type: 'exec_start', exec: 'k-3', cell: 'cell-2', count: 3, source: 'ξ()\n' }),
    r({ type: 'run_start', run: A, name: 'Αlpha', experiment: 'Εxp', exec: 'k-1', code: git(COMMIT_A, 'μain', true, ['ν.txt']) }),
    r({ type: 'param', run: A, key: 'λr', value: 0.01, role: 'input' }),
    r({ type: 'param', run: A, key: 'οpt', value: 'αdam', role: 'input' }),
    r({ type: 'param', run: A, key: 'θreshold', value: 0.5, role: 'output' }),
    r({ type: 'context_start', run: A, ctx: 1, name: 'τrain', epoch: 1, parent: null }),
    r({ type: 'metrics', run: A, batch: 1, series: [series('λoss', [2, 1, -1, NaN], 1), series('ακκ', [0.5, 0.75])] }),
    r({ type: 'metrics', run: A, batch: 2, series: [series('power_watts[γpu0]', [100, 120])] }),
    r({
      type: 'artifact',
      run: A,
      path: 'ο/model.πt',
      name: 'μodel',
      sha256: 'e'.repeat(64),
      size: 5_000_000,
      role: 'output',
      media_type: 'φ/ψ'
    }),
    r({ type: 'energy', run: A, scope: 'run', device: 'γpu0', joules: 1234, method: 'νvml', resolution_limited: true }),
    r({ type: 'energy', run: A, scope: 'run', device: 'κpu', joules: null, reason: 'permission' }),
    r({ type: 'run_end', run: A, status: 'finished' }),
    r({ type: 'run_start', run: A2, name: 'Αlpha', experiment: 'Εxp', exec: 'k-2', code: git(COMMIT_A, 'μain', false, []) }),
    r({ type: 'param', run: A2, key: 'λr', value: 0.1, role: 'input' }),
    r({ type: 'param', run: A2, key: 'οpt', value: 'σgd', role: 'input' }),
    r({ type: 'metrics', run: A2, batch: 1, series: [series('λoss', [3, 2])] }),
    r({ type: 'energy', run: A2, scope: 'run', device: 'none', joules: null, reason: 'not_supported' }),
    r({ type: 'run_end', run: A2, status: 'failed', ename: 'ΒadError', evalue: 'βad' }),
    r({ type: 'run_start', run: B, name: 'Βeta', experiment: 'Εxp', exec: 'k-3', code: git(COMMIT_B, null, false, []) }),
    r({ type: 'param', run: B, key: 'λr', value: 1, role: 'input' }),
    r({ type: 'metrics', run: B, batch: 1, series: [series('λoss', [4, 3, 2, 1])] }),
    r({ type: 'gap', run: B, records: 2, points: 1500, reason: 'δisk' }),
    r({ type: 'energy', run: B, scope: 'run', device: 'none', joules: null, reason: 'not_supported' }),
    r({ type: 'run_end', run: B, status: 'interrupted' }),
    r({ type: 'run_start', run: C, name: '', experiment: 'Εxp', exec: null, parent: A }),
    r({ type: 'metrics', run: C, batch: 1, series: [series('λoss', [5])] })
  ];
}

/** The rank 1 process of run B: its series is drawn (labelled with its rank) when all ranks are shown. */
function rankRecords(): IRawRecord[] {
  return [
    {
      type: 'kernel_start',
      t: at(0),
      seq: 1,
      session: 'r1',
      hostname: 'ηost',
      rank: { run: B, rank: 1, world_size: 2, parent_session: 'k' }
    },
    { type: 'metrics', t: at(1), seq: 2, run: B, batch: 1, series: [series('λoss', [9, 8])] }
  ];
}

function fixtureStore(): RunStore {
  const store = new RunStore();
  store.apply('k', validated(records()));
  store.apply('r1', validated(rankRecords()));
  return store;
}

/** Texts of the fixture (and what the page derives from it without translating). */
function fixtureData(store: RunStore): string[] {
  const data = new Set<string>(['σweep.ipynb', 'ηost', 'ν.txt', 'ο/model.πt', 'μodel', 'φ/ψ', 'δisk', 'γpu0', 'κpu', 'νvml']);
  data.add(COMMIT_A);
  data.add(COMMIT_B);
  data.add('μain');
  for (const run of store.runs.values()) {
    data.add(run.id);
    data.add(runDisplayName(run));
    data.add(run.experiment);
    data.add(formatTime(run.start));
    data.add(new Date(run.start).toLocaleString());
    for (const param of run.params.values()) {
      // paramLabel is the pure core's ('key (output)'), shared with the CLI: left in English.
      data.add(paramLabel(param));
      data.add(param.key);
      if (typeof param.value === 'string') {
        data.add(param.value);
      }
    }
    for (const one of run.series.values()) {
      data.add(one.metric);
    }
    for (const context of run.contexts.values()) {
      data.add(context.name);
    }
    for (const figure of run.energy) {
      // The reason code is kept beside its text, so it can be looked up: data, not prose.
      data.add(figure.reason ?? '');
      data.add(figure.device);
    }
    if (run.error) {
      data.add(run.error.ename);
      data.add(run.error.evalue);
    }
  }
  for (const identity of runIdentities(store.runs.values()).values()) {
    data.add(identity.label);
  }
  for (const execution of store.executions.values()) {
    data.add(new Date(execution.start).toLocaleTimeString());
  }
  data.add('e'.repeat(64));
  data.add(COMMIT_A.slice(0, 10));
  data.add(COMMIT_B.slice(0, 10));
  data.delete('');
  return Array.from(data);
}

/** Containers of the user's own text (cell sources, diffs of them, a git command line). */
const USER_CONTENT = '.nbprov-source, .nbprov-diff, code';
const ATTRIBUTES = ['title', 'aria-label', 'placeholder', 'alt', 'aria-description'];
/** Units and algorithm names after numbers, which are not translated (SI symbols, "sha256"). */
const TECHNICAL = /\b\d+(\.\d+)?(e[+-]?\d+)?\s?(ms|s|m|h|J|kJ|MJ|W|B|KiB|MiB|GiB)\b|\bsha256\b/g;

function placeOf(node: Element): string {
  const parts = [];
  for (let up: Element | null = node; up && parts.length < 4; up = up.parentElement) {
    parts.unshift(up.tagName.toLowerCase() + (up.className ? `.${String(up.className).split(' ')[0]}` : ''));
  }
  return parts.join(' > ');
}

/** Every shown string left with letters once the translated parts and the fixture's data are taken out. */
function untranslated(root: Element, data: readonly string[]): string[] {
  const longestFirst = [...data].sort((a, b) => b.length - a.length);
  const left: string[] = [];
  const check = (text: string, where: string) => {
    let rest = text.replace(/‹[^‹›]*›/g, ' ');
    for (const datum of longestFirst) {
      rest = rest.split(datum).join(' ');
    }
    rest = rest.replace(TECHNICAL, ' ');
    if (/\p{L}/u.test(rest)) {
      left.push(`${where}: ${JSON.stringify(text)}`);
    }
  };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node: Node | null = walker.currentNode; node; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) {
      const parent = node.parentElement!;
      if (!parent.closest(USER_CONTENT) && node.textContent!.trim()) {
        check(node.textContent!, placeOf(parent));
      }
      continue;
    }
    const element = node as Element;
    for (const name of ATTRIBUTES) {
      const value = element.getAttribute(name);
      if (value?.trim()) {
        check(value, `${placeOf(element)} [${name}]`);
      }
    }
  }
  return left;
}

function translatedCount(root: Element): number {
  return (root.textContent!.match(/‹/g) ?? []).length;
}

const pause = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/**
 * Waits for the view's scheduled refresh and its charts: a refresh waits a multiple of the last
 * one's cost, which the real Vega in jsdom makes long on a loaded machine (peeks at its timer).
 */
async function settle(view?: RunsView): Promise<void> {
  await pause(700);
  for (let waited = 0; view && (view as unknown as { _timer?: unknown })._timer !== undefined && waited < 30_000; waited += 100) {
    await pause(100);
  }
  await pause(view ? 100 : 0);
}

function click(node: Element | null): void {
  expect(node).not.toBeNull();
  (node as HTMLElement).click();
}

function choose(select: HTMLSelectElement | null, value: string): void {
  expect(select).not.toBeNull();
  select!.value = value;
  select!.dispatchEvent(new Event('change'));
}

jest.setTimeout(60_000);

describe('translation', () => {
  const { messages, problems } = extract();

  it('finds every msgid as a literal, called where the string is shown', () => {
    expect(problems).toEqual([]);
    // The extraction itself works: the view's tab label and the table's caption are among them.
    expect(messages).toContainEqual({ msgid: 'Development graph', plural: null });
    expect(messages).toContainEqual({ msgid: '%1 run(s), %2 selected', plural: '%1 run(s), %2 selected' });
    expect(messages.length).toBeGreaterThan(150);
  });

  describe('in a pseudo-locale', () => {
    beforeAll(async () => {
      const manager = new TranslationManager('', undefined, undefined, new PseudoLocale(messages));
      await manager.fetch('xx-PS');
      setTranslator(manager);
      // The real TranslationManager's bundle, with gettext's plural rule for the locale.
      expect(trans().__('Runs')).toBe('‹Runs›');
      expect(trans()._n('%1 run(s), %2 selected', '%1 run(s), %2 selected', 1, 0)).toBe('1‹ run(s), ›0‹ selected›');
      expect(trans().__('not a message of nbprov')).toBe('not a message of nbprov');
    });

    it('translates every text, title and aria-label of the runs view in each tab', async () => {
      const store = fixtureStore();
      const data = fixtureData(store);
      const view = new RunsView();
      Widget.attach(view, document.body);
      try {
        view.setStore(store);
        await settle(view);
        const node = view.node;
        const seen: string[] = [];
        const inspect = async (step: string) => {
          await settle(view);
          seen.push(...untranslated(node, data).map(text => `${step}: ${text}`));
        };
        await inspect('runs tab');
        // Selected runs, the all-ranks series, a log scale (values ≤ 0 noted), colour by a number then a category.
        for (const box of Array.from(node.querySelectorAll<HTMLInputElement>('.nbprov-row .nbprov-select input')).slice(0, 3)) {
          click(box);
        }
        click(node.querySelector('.nbprov-all-ranks input'));
        choose(node.querySelector('.nbprov-scale select'), 'log');
        choose(node.querySelector('.nbprov-colour-by select'), 'λr');
        await inspect('selected, ranks, log scale, coloured by a number');
        choose(node.querySelector('.nbprov-colour-by select'), 'οpt');
        choose(node.querySelector('.nbprov-axis select'), 'relative');
        await inspect('coloured by a category');
        // The view under test really drew what is checked.
        expect(node.querySelector('.nbprov-artifact')).not.toBeNull();
        expect(node.querySelector('.nbprov-child-run')).not.toBeNull();
        expect(node.querySelector('.nbprov-legend-item')).not.toBeNull();
        expect(node.querySelector('.nbprov-chart[data-metric="λoss"] .nbprov-chart-note')!.textContent).toContain(
          '‹ value(s) ≤ 0 not drawn on the log scale›'
        );
        expect(node.querySelector('.nbprov-tradeoff-omitted')).not.toBeNull();
        expect(node.querySelector('.nbprov-colour-key')!.textContent).toContain('αdam');
        expect(node.querySelector('.nbprov-chart')!.getAttribute('aria-label')).toMatch(/^‹Chart of metric ›/);

        click(node.querySelector('.nbprov-tab[data-tab="compare"]'));
        await inspect('compare tab');
        expect(node.querySelector('.nbprov-compare-metrics')).not.toBeNull();
        expect(node.querySelector('.nbprov-git-pair')).not.toBeNull();
        click(node.querySelector('.nbprov-only-differences input'));
        await inspect('compare tab, only differences');

        click(node.querySelector('.nbprov-tab[data-tab="runs"]'));
        await settle(view);
        click(node.querySelector('.nbprov-jump'));
        await inspect('timeline tab');
        expect(node.querySelectorAll('.nbprov-exec').length).toBe(3);
        expect(node.querySelector('.nbprov-exec-runs')).not.toBeNull();

        view.setStore(null);
        await inspect('no store');
        expect(seen).toEqual([]);
        expect(translatedCount(node)).toBeGreaterThan(0);
      } finally {
        view.dispose();
      }
    });

    it('translates the side panel in each scope, its scan results and its errors', async () => {
      const store = fixtureStore();
      const data = [...fixtureData(store), 'ρroject', 'ρroject/ωld.prov', 'Error: ωops'];
      // The panel's view of the lab: one focused notebook, whose folder scan reads two notebooks (one
      // damaged, stopping early) and whose root scan fails.
      class FixedTracker implements INbprovTracker {
        readonly currentNotebook = 'ρroject/σweep.ipynb';
        readonly currentChanged: Signal<INbprovTracker, string | null> = new Signal(this);
        readonly sessionsChanged: Signal<INbprovTracker, void> = new Signal(this);
        storeFor = () => store;
        storeForSession = () => undefined;
        notebookOf = () => this.currentNotebook;
        revealCell = async (): Promise<CellReveal> => ({ status: 'unavailable', reason: 'ηot open' });
        async scanRuns(_folder: string, recursive: boolean): Promise<IProjectRuns> {
          if (recursive) {
            throw new Error('ωops');
          }
          return {
            store,
            notebooks: ['ρroject/σweep.ipynb', 'ρroject/ωld.ipynb'],
            skipped: [{ folder: 'ρroject/ωld.prov', reason: 'δamaged' }],
            truncated: true
          };
        }
      }
      const tracker = new FixedTracker();
      data.push('ρroject/σweep.ipynb', 'δamaged');
      const panel = new RunsPanel(tracker);
      Widget.attach(panel, document.body);
      try {
        const seen: string[] = [];
        const inspect = async (step: string) => {
          await settle();
          seen.push(...untranslated(panel.node, data).map(text => `${step}: ${text}`));
          for (const text of [panel.title.label, panel.title.caption]) {
            if (!/^‹[^‹›]*›$/.test(text)) {
              seen.push(`${step}: panel title ${JSON.stringify(text)}`);
            }
          }
        };
        await inspect('this notebook');
        panel.setScope('folder');
        await inspect('this folder');
        expect(panel.node.querySelector('.nbprov-scope-where')!.textContent).toBe(
          '2‹ notebook(s) in ›ρroject; 1‹ folder(s) not fully readable›; ‹stopped early: too many folders›'
        );
        panel.setScope('root');
        await inspect('the server root, failing');
        expect(panel.node.querySelector('.nbprov-scope-where')!.textContent).toBe(
          '‹Could not read ›‹the server root›‹: ›Error: ωops'
        );
        expect(seen).toEqual([]);
      } finally {
        panel.dispose();
      }
    });
  });
});
