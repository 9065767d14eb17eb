import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator } from '@jupyterlab/translation';

import { revealNotebookCell } from './cellreveal';
import { IRecordingSettings, parseRecordingSettings } from './core/recording';
import { exportNotebook } from './exportcommand';
import { setTranslator, trans } from './i18n';
import { forgetHistory } from './forgetcommand';
import { provenanceIcon } from './icons';
import { RecordingStatus, RecordingToggle, toggleRecording } from './recordingui';

import { ContentsService } from './service';
import { privacy } from './privacy';
import { NbprovTracker, NotebookSession } from './tracker';
import { CommandIDs, INbprovTracker, paramLabel } from './tokens';
import { RunsPanel } from './widget/panel';
import { registerWidgets } from './widget/register';
import { IRunsOutputHost, refreshSavedSummaries, RUNS_RENDERER_RANK, runsRendererFactory } from './widget/runsoutput';

const PLUGIN_ID = 'nbprov:plugin';

/**
 * Serialisable view of a notebook's runs, for tests and scripts (command `nbprov:runs`): each series'
 * `length` and its points from `start` to `end` (all by default; a benchmark reads 10 M points in slices).
 */
function describeRuns(session: NotebookSession, start = 0, end = Infinity): unknown {
  return Array.from(session.store.runs.values(), run => ({
    id: run.id,
    name: run.name,
    experiment: run.experiment,
    status: run.status,
    params: Object.fromEntries(Array.from(run.params.values(), p => [paramLabel(p), p.value])),
    series: Array.from(run.series.values(), series => {
      const { steps, values } = series.slice(start, Math.min(end, series.length));
      return {
        metric: series.metric,
        ctx: series.ctx,
        length: series.length,
        steps: Array.from(steps),
        values: Array.from(values)
      };
    })
  }));
}

const plugin: JupyterFrontEndPlugin<INbprovTracker> = {
  id: PLUGIN_ID,
  description: 'Records the provenance of notebook sessions and training runs.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, ICommandPalette, IJupyterWidgetRegistry, IStatusBar, ITranslator],
  provides: INbprovTracker,
  activate: async (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    widgetRegistry: IJupyterWidgetRegistry | null,
    statusBar: IStatusBar | null,
    translator: ITranslator | null
  ): Promise<INbprovTracker> => {
    if (translator) {
      setTranslator(translator);
    }
    const service = new ContentsService(app.serviceManager.contents);
    const tracker = new NbprovTracker(service);
    tracker.cellRevealer = (path, cellId) => revealNotebookCell(app, notebooks, path, cellId);
    app.serviceManager.contents.fileChanged.connect((_, change) => {
      const from = change.oldValue?.path;
      const to = change.newValue?.path;
      if (change.type === 'rename' && from && to && from.endsWith('.ipynb') && to.endsWith('.ipynb')) {
        tracker.notebookRenamed(from, to).catch(error => console.error('nbprov: could not follow a rename', error));
      }
    });
    const settings = settingRegistry ? await settingRegistry.load(PLUGIN_ID).catch(() => null) : null;
    const setting = (key: 'autoload' | 'energy'): boolean => (settings?.get(key).composite as boolean | undefined) ?? true;
    let recording: IRecordingSettings = parseRecordingSettings({}).settings;
    const readRecordingSettings = () => {
      const parsed = parseRecordingSettings({
        record: settings?.get('record').composite,
        exclude: settings?.get('exclude').composite
      });
      recording = parsed.settings;
      if (parsed.errors.length) {
        Notification.warning(trans().__('nbprov settings: %1.', parsed.errors.join('; ')), { autoClose: false });
      }
    };
    readRecordingSettings();
    settings?.changed.connect(() => {
      readRecordingSettings();
      tracker.all().forEach(session => session.settingsChanged());
    });
    const sessionSettings = { recording: () => recording, autoload: () => setting('autoload'), energy: () => setting('energy') };
    const user = app.serviceManager.user?.identity?.username ?? 'anonymous';
    const applyPrivacy = (): boolean => privacy.update(settings?.get('redact').composite, settings?.get('gitignore').composite);
    applyPrivacy();
    settings?.changed.connect(() => {
      if (applyPrivacy()) {
        tracker.all().forEach(session => session.redactionChanged());
      }
    });

    notebooks.widgetAdded.connect(async (_, panel: NotebookPanel) => {
      panel.toolbar.insertItem(10, 'nbprov-recording', new RecordingToggle(tracker, panel.id));
      // The runs widget's outputs: on the notebook's own rendermime, before its cells render.
      const outputHost: IRunsOutputHost = {
        tracker,
        notebookPath: () => panel.context.path,
        openRunsPanel: () => void app.commands.execute(CommandIDs.openRuns)
      };
      const rendermime = panel.content.rendermime;
      rendermime.addFactory(runsRendererFactory(rendermime, outputHost), RUNS_RENDERER_RANK);
      panel.context.saveState.connect((_, state) => {
        if (state === 'started' && panel.content.model) {
          refreshSavedSummaries(panel.content.model, outputHost);
        }
      });
      await panel.context.ready;
      const session = new NotebookSession({
        panel,
        service,
        store: tracker.storeFor(panel.context.path),
        user,
        settings: sessionSettings
      });
      tracker.add(panel.id, session);
      panel.disposed.connect(() => tracker.remove(panel.id));
    });
    const status = new RecordingStatus(tracker, () => notebooks.currentWidget?.id ?? null);
    notebooks.currentChanged.connect((_, panel) => {
      tracker.currentNotebook = panel?.context.path ?? null;
      status.update();
    });
    statusBar?.registerStatusItem('nbprov:recording', {
      item: status,
      align: 'left',
      rank: 5,
      isActive: () => notebooks.currentWidget !== null && app.shell.currentWidget === notebooks.currentWidget
    });

    const currentSession = (): NotebookSession | undefined =>
      notebooks.currentWidget ? tracker.sessionOf(notebooks.currentWidget.id) : undefined;

    app.commands.addCommand(CommandIDs.export, {
      label: trans().__('Export Notebook Provenance'),
      caption: trans().__('Write the notebook session as PROV-JSON, a Zarr sidecar and an RO-Crate into <notebook>.prov/'),
      isEnabled: () => currentSession() !== undefined,
      execute: async () => {
        const session = currentSession();
        const license = settings?.get('license').composite;
        return session
          ? exportNotebook(session, service, typeof license === 'string' && license ? license : undefined)
          : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.toggleRecording, {
      label: trans().__('Toggle Provenance Recording'),
      caption: trans().__('Record or pause the provenance of the current notebook'),
      isEnabled: () => currentSession() !== undefined,
      execute: () => {
        const session = currentSession();
        return session ? toggleRecording(session).state : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.forgetHistory, {
      label: trans().__('Forget Provenance History…'),
      caption: trans().__(
        "Delete the current notebook's recorded history (journal, blobs, stored artifacts), after confirmation"
      ),
      describedBy: { args: { type: 'object', properties: { before: { type: 'string' } } } },
      isEnabled: () => currentSession() !== undefined,
      execute: async args => {
        const session = currentSession();
        return session ? forgetHistory(service, session, { before: args.before as string | undefined }) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.runs, {
      label: trans().__('Describe Provenance Runs (JSON)'),
      describedBy: {
        args: { type: 'object', properties: { start: { type: 'integer' }, end: { type: 'integer' } } }
      },
      execute: async args => {
        const session = currentSession();
        if (!session) {
          return [];
        }
        const bound = (value: unknown, otherwise: number): number => (typeof value === 'number' ? value : otherwise);
        return describeRuns(session, bound(args.start, 0), bound(args.end, Infinity));
      }
    });
    // The side panel reads the run store only, so it works while the kernel is busy.
    const panel = new RunsPanel(tracker);
    panel.title.icon = provenanceIcon;
    panel.title.caption = trans().__('Provenance runs');
    app.shell.add(panel, 'right', { rank: 600 });
    app.commands.addCommand(CommandIDs.openRuns, {
      label: trans().__('Provenance Runs'),
      caption: trans().__('Runs of the current notebook: table, live charts, comparison, executions'),
      icon: provenanceIcon,
      execute: () => app.shell.activateById(panel.id)
    });

    if (widgetRegistry) {
      registerWidgets(widgetRegistry, tracker);
    }
    palette?.addItem({ command: CommandIDs.export, category: trans().__('Provenance') });
    palette?.addItem({ command: CommandIDs.openRuns, category: trans().__('Provenance') });
    palette?.addItem({ command: CommandIDs.toggleRecording, category: trans().__('Provenance') });
    palette?.addItem({ command: CommandIDs.forgetHistory, category: trans().__('Provenance') });
    return tracker;
  }
};

export default [plugin];
