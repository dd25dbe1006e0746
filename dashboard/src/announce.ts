import { useEffect, useState } from 'preact/hooks';

/** The page's one polite live region: what changed, said once, whichever view noticed it. */
const listeners = new Set<(text: string) => void>();

export const announce = (text: string): void => {
  for (const listener of listeners) listener(text);
};

export const useAnnouncement = (): string => {
  const [text, setText] = useState('');
  useEffect(() => {
    listeners.add(setText);
    return () => void listeners.delete(setText);
  }, []);
  return text;
};
