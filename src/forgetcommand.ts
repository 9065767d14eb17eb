/**
 * `nbprov:forget-history`: the Contents API side of core/forget, after a confirmation dialog that
 * names what each choice deletes.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { Widget } from '@lumino/widgets';

import {
  describePlan,
  hasHistory,
  IForgetOptions,
  IProvListing,
  ITextForgetPlan,
  parseBefore,
  planForget,
  planIsEmpty
} from './core/forget';
import { trans } from './i18n';
import { ContentsService, kernelPath } from './service';
import { NotebookSession } from './tracker';

async function listing(service: ContentsService, folder: string): Promise<IProvListing> {
  const names = async (dir: string) => (await service.listFiles(PathExt.join(folder, dir))).map(file => file.name);
  return {
    journal: await service.readJournal(folder),
    blobs: await names('blobs'),
    artifacts: await names('artifacts'),
    exported: await service.exists(PathExt.join(folder, 'prov.json'))
  };
}

async function apply(service: ContentsService, folder: string, plan: ITextForgetPlan): Promise<void> {
  // The server writes files atomically (a temporary file, then a rename).
  for (const [path, text] of plan.texts) {
    await service.writeText(PathExt.join(folder, path), text);
  }
  for (const path of plan.delete) {
    // Emptied first: the server may move deleted files to the trash (delete_to_trash), which must
    // not keep the history; and a kernel appending to the file sees it replaced and starts a new one.
    await service.writeText(PathExt.join(folder, path), '');
    await service.delete(PathExt.join(folder, path));
  }
}

/**
 * Asks, then forgets; returns what was removed (or why nothing was). `before` is an ISO date or
 * date-time; the dialog offers everything or outputs only.
 */
export async function forgetHistory(
  service: ContentsService,
  session: NotebookSession,
  args: { before?: string }
): Promise<string> {
  await session.located;
  const name = PathExt.basename(session.path);
  const folder = session.folder;
  const before = args.before ? parseBefore(args.before) : null;
  await session.flush();
  const found = await listing(service, folder);
  if (!hasHistory(found)) {
    const message = trans().__('nbprov: no recorded history for %1.', name);
    Notification.info(message, { autoClose: 5000 });
    return message;
  }
  const all: IForgetOptions = { outputsOnly: false, before };
  const outputs: IForgetOptions = { outputsOnly: true, before };
  const plans = { all: planForget(found, all), outputs: planForget(found, outputs) };
  const body = document.createElement('div');
  for (const text of [
    trans().__('In %1:', folder),
    trans().__('Forget everything: %1.', describePlan(plans.all, all)),
    trans().__('Forget outputs only: %1.', describePlan(plans.outputs, outputs)),
    trans().__('This cannot be undone.')
  ]) {
    const paragraph = document.createElement('p');
    paragraph.textContent = text;
    body.appendChild(paragraph);
  }
  const forgetOutputsLabel = trans().__('Forget outputs only');
  const forgetEverythingLabel = trans().__('Forget everything');
  const result = await showDialog({
    title: trans().__('Forget the recorded history of %1?', name),
    body: new Widget({ node: body }),
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: forgetOutputsLabel, caption: trans().__('cell outputs and blobs') }),
      Dialog.warnButton({ label: forgetEverythingLabel, caption: trans().__('journal, blobs, stored artifacts') })
    ],
    defaultButton: 0
  });
  const choice =
    result.button.label === forgetEverythingLabel ? 'all' : result.button.label === forgetOutputsLabel ? 'outputs' : null;
  if (choice === null) {
    return 'cancelled';
  }
  const options = choice === 'all' ? all : outputs;
  // Planned again on what is there now: records written while the dialog was open are included.
  await session.flush();
  const plan = planForget(await listing(service, folder), options);
  if (planIsEmpty(plan)) {
    const message = trans().__('nbprov: nothing to remove for %1 (%2).', name, describePlan(plan, options));
    Notification.info(message, { autoClose: 8000 });
    return message;
  }
  const viaKernel =
    session.channel.session !== null &&
    (await session.channel.forgetInKernel({
      notebook: kernelPath(session.path),
      outputsOnly: options.outputsOnly,
      before: args.before ?? null
    }));
  if (!viaKernel) {
    await apply(service, folder, plan);
  }
  const message = trans().__('nbprov: removed from %1: %2.', folder, describePlan(plan, options));
  Notification.success(message, { autoClose: 10000 });
  return message;
}
