/** Previous / next buttons for a list shown a page at a time. */
export const Pager = ({
  label,
  page,
  hasNext,
  summary,
  onPage,
}: {
  label: string;
  page: number;
  hasNext: boolean;
  /** What else to say of where the reader is, such as the number of pages. */
  summary?: string;
  onPage: (page: number) => void;
}) => (
  <fieldset class="pager">
    <legend class="visually-hidden">{label}</legend>
    <button type="button" disabled={page === 0} onClick={() => onPage(page - 1)}>
      Previous page
    </button>
    <span>
      Page {page + 1}
      {summary}
    </span>
    <button type="button" disabled={!hasNext} onClick={() => onPage(page + 1)}>
      Next page
    </button>
  </fieldset>
);
