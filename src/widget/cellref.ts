/**
 * A run's cell reference in the runs table: a button naming the cell execution that started the
 * run (`cell [3]`), which shows that notebook cell in the lab through the tracker, or says that the
 * cell has been deleted or changed since, with the version that ran on demand.
 */
import { diffHunks, IDiffHunk } from '../core/diff';
import { trans } from '../i18n';
import { CellReveal, IExecution, INbprovTracker, IRun, IRunStore } from '../tokens';
import { element } from './dom';

/** What the cell references need of the tracker. */
export type ICellLocator = Pick<INbprovTracker, 'revealCell' | 'notebookOf'>;

export class CellReferences {
  /** `renderHunks` draws a diff (the view's, so diffs look alike everywhere). */
  constructor(private readonly _renderHunks: (hunks: readonly IDiffHunk[]) => HTMLElement) {
    this.notice.className = 'nbprov-cell-notice';
    this.notice.setAttribute('role', 'status');
  }

  /** Where the outcome of a click is said (under the runs table). */
  readonly notice = element('div');

  /** The tracker to reach notebooks through; null where there is none (the notice says so). */
  locator: ICellLocator | null = null;

  /** The button for a run's cell, or null when the run's execution names no cell. */
  button(run: IRun, store: IRunStore, label: string): HTMLButtonElement | null {
    const execution = run.exec ? store.executions.get(run.exec) : undefined;
    if (!execution?.cell) {
      return null;
    }
    const text = execution.count === null ? trans().__('cell') : trans().__('cell [%1]', execution.count);
    const button = element('button', 'nbprov-cell-ref', text);
    button.type = 'button';
    button.title = trans().__('Show the notebook cell that ran this run');
    button.setAttribute('aria-label', trans().__('Show the notebook cell that ran run %1', label));
    button.dataset.focusKey = `cell:${run.id}`;
    button.addEventListener('click', () => void this.reveal(run, store, execution));
    return button;
  }

  /** Shows the cell and says what became of it. */
  async reveal(run: IRun, store: IRunStore, execution: IExecution): Promise<void> {
    const notebook = run.notebook ?? this.locator?.notebookOf(store) ?? null;
    if (!this.locator || notebook === null || !execution.cell) {
      this._say(trans().__('The cell cannot be shown from here: this view does not know the notebook that ran this run.'));
      return;
    }
    let result: CellReveal;
    try {
      result = await this.locator.revealCell(notebook, execution.cell);
    } catch (error) {
      result = { status: 'unavailable', reason: String(error) };
    }
    if (result.status === 'unavailable') {
      this._say(trans().__('The cell could not be shown: %1', result.reason));
    } else if (result.status === 'deleted') {
      this._say(trans().__('The cell that ran this run has been deleted.'), execution.source, null);
    } else if (result.source !== execution.source) {
      this._say(trans().__('The cell that ran this run has changed since.'), execution.source, result.source);
    } else {
      this.notice.replaceChildren();
    }
  }

  /** A message, and when the cell is gone or changed, the version that ran behind a button. */
  private _say(message: string, ran?: string, now?: string | null): void {
    const parts: (HTMLElement | string)[] = [element('span', 'nbprov-cell-message', message)];
    if (ran !== undefined) {
      const show = element('button', 'jp-mod-styled nbprov-show-ran', trans().__('Show the version that ran'));
      show.type = 'button';
      show.setAttribute('aria-expanded', 'false');
      const version = element('div', 'nbprov-ran-version');
      version.hidden = true;
      if (now !== null && now !== undefined) {
        version.append(
          element('div', 'nbprov-ran-caption', trans().__('Changes since it ran (- the version that ran, + the cell now):'))
        );
        version.append(this._renderHunks(diffHunks(ran, now)));
      }
      version.append(
        element('div', 'nbprov-ran-caption', trans().__('The version that ran:')),
        element('pre', 'nbprov-source', ran)
      );
      show.addEventListener('click', () => {
        version.hidden = !version.hidden;
        show.setAttribute('aria-expanded', String(!version.hidden));
      });
      parts.push(' ', show, version);
    }
    this.notice.replaceChildren(...parts);
  }
}
