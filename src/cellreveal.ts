/**
 * Shows a notebook's cell in the lab: opens the notebook when it is not open (`docmanager:open`),
 * activates its tab, makes the cell active, scrolls it into view and highlights it for a while.
 * The tracker's `revealCell` calls this, so the runs views never import the shell.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { trans } from './i18n';
import { CellReveal } from './tokens';

/** The class a revealed cell carries for this long (style/widget.css). */
export const CELL_HIGHLIGHT_CLASS = 'nbprov-cell-highlight';
const HIGHLIGHT_MS = 3000;

export async function revealNotebookCell(
  app: JupyterFrontEnd,
  notebooks: INotebookTracker,
  notebookPath: string,
  cellId: string
): Promise<CellReveal> {
  const find = (): NotebookPanel | undefined => notebooks.find(panel => panel.context.path === notebookPath);
  let panel = find();
  if (!panel) {
    try {
      await app.commands.execute('docmanager:open', { path: notebookPath, factory: 'Notebook' });
    } catch (error) {
      return {
        status: 'unavailable',
        reason: trans().__('the notebook %1 could not be opened: %2', notebookPath, String(error))
      };
    }
    panel = find();
    if (!panel) {
      return { status: 'unavailable', reason: trans().__('the notebook %1 could not be opened', notebookPath) };
    }
  }
  await panel.context.ready;
  app.shell.activateById(panel.id);
  const notebook = panel.content;
  const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
  if (index < 0) {
    return { status: 'deleted' };
  }
  const cell = notebook.widgets[index];
  notebook.activeCellIndex = index;
  notebook.mode = 'command';
  await notebook.scrollToCell(cell, 'center');
  cell.addClass(CELL_HIGHLIGHT_CLASS);
  setTimeout(() => cell.removeClass(CELL_HIGHLIGHT_CLASS), HIGHLIGHT_MS);
  return { status: 'shown', source: cell.model.sharedModel.getSource() };
}
