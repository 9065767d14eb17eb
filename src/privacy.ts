/**
 * The page's privacy settings, shared by every notebook's recorder and applied live when the
 * settings change: the redactor (defaults plus the `redact` setting's patterns) and whether a
 * `.prov` folder the page creates gets a `.gitignore`.
 */
import { Notification } from '@jupyterlab/apputils';

import { Redactor } from './core/redact';

class PrivacySettings {
  /** What every record, source and output the page writes passes through first. */
  redactor = new Redactor();
  /** Write `.gitignore` (journal/, blobs/) into a `.prov` folder the page creates. */
  gitignore = true;

  /** The `redact` setting's patterns as given, for the kernels (which check them themselves). */
  patterns: readonly unknown[] = [];

  /**
   * Applies the `redact` and `gitignore` settings; invalid or slow patterns are notified and
   * skipped. Returns whether the patterns changed (the kernels are then told).
   */
  update(extraPatterns: unknown, gitignore: unknown): boolean {
    this.gitignore = gitignore !== false;
    const extra = Array.isArray(extraPatterns) ? extraPatterns : [];
    const key = JSON.stringify(extra);
    if (key === this._patternsKey) {
      return false;
    }
    this._patternsKey = key;
    this.patterns = extra;
    this.redactor = new Redactor(extra, message => {
      console.warn(message);
      Notification.warning(message, { autoClose: false });
    });
    return true;
  }

  private _patternsKey = '[]';
}

export const privacy = new PrivacySettings();
