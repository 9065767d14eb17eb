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
    const message = `nbprov: no recorded history for ${name}.`;
    Notification.info(message, { autoClose: 5000 });
    return message;
  }
  const all: IForgetOptions = { outputsOnly: false, before };
  const outputs: IForgetOptions = { outputsOnly: true, before };
  const plans = { all: planForget(found, all), outputs: planForget(found, outputs) };
  const body = document.createElement('div');
  for (const text of [
    `In ${folder}:`,
    `Forget everything: ${describePlan(plans.all, all)}.`,
    `Forget outputs only: ${describePlan(plans.outputs, outputs)}.`,
    'This cannot be undone.'
  ]) {
    const paragraph = document.createElement('p');
    paragraph.textContent = text;
    body.appendChild(paragraph);
  }
  const result = await showDialog({
    title: `Forget the recorded history of ${name}?`,
    body: new Widget({ node: body }),
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: 'Forget outputs only', caption: 'cell outputs and blobs' }),
      Dialog.warnButton({ label: 'Forget everything', caption: 'journal, blobs, stored artifacts' })
    ],
    defaultButton: 0
  });
  const choice =
    result.button.label === 'Forget everything' ? 'all' : result.button.label === 'Forget outputs only' ? 'outputs' : null;
  if (choice === null) {
    return 'cancelled';
  }
  const options = choice === 'all' ? all : outputs;
  // Planned again on what is there now: records written while the dialog was open are included.
  await session.flush();
  const plan = planForget(await listing(service, folder), options);
  if (planIsEmpty(plan)) {
    const message = `nbprov: nothing to remove for ${name} (${describePlan(plan, options)}).`;
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
  const message = `nbprov: removed from ${folder}: ${describePlan(plan, options)}.`;
  Notification.success(message, { autoClose: 10000 });
  return message;
}
