import type { ComponentChildren } from 'preact';

/**
 * A wide table's box that scrolls sideways in a narrow window. It takes the focus so that a keyboard can
 * scroll it too (axe's scrollable-region-focusable), which biome's rule for plain elements does not know.
 */
export const ScrollBox = ({ label, children }: { label: string; children: ComponentChildren }) => (
  // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
  <section class="scroll" aria-label={label} tabIndex={0}>
    {children}
  </section>
);
