/**
 * Registers the `nbprov` widget module with the ipywidgets registry. Only this small module is
 * loaded with the plugin; the view code and Vega load when a widget is first shown.
 */
import type { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { INbprovTracker } from '../tokens';
import { MODULE_NAME, MODULE_VERSION } from './version';

export function registerWidgets(registry: IJupyterWidgetRegistry, tracker: INbprovTracker): void {
  registry.registerWidget({
    name: MODULE_NAME,
    version: MODULE_VERSION,
    exports: async () => {
      const module = await import('./index');
      module.setTracker(tracker);
      return { RunsModel: module.RunsModel, RunsView: module.RunsView };
    }
  });
}
