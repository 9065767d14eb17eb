/**
 * The translation bundle of nbprov's user-visible strings. The plugin hands JupyterLab's
 * translator over at activation; until then (and in the CLI and tests) strings stay in English.
 * Call `trans()` where a string is shown, not at module load, so the lab's language applies.
 */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';

/** The gettext domain of nbprov's strings (a language pack provides `nbprov` catalogues). */
export const TRANSLATION_DOMAIN = 'nbprov';

let bundle: TranslationBundle = nullTranslator.load(TRANSLATION_DOMAIN);

export function setTranslator(translator: ITranslator): void {
  bundle = translator.load(TRANSLATION_DOMAIN);
}

/** The bundle to translate with: `trans().__('Runs')`, `trans()._n('%1 run', '%1 runs', n)`. */
export function trans(): TranslationBundle {
  return bundle;
}
