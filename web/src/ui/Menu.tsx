import { useEffect, useId, useRef, useState, type ReactNode, type RefObject } from "react";
import { menuKey, typeAhead } from "./menuKeys";

/** One entry of a menu. */
export interface MenuItem {
  key: string;
  /** The accessible name (and the text shown, unless `content`). */
  label: string;
  /** What is shown instead of the label (an emoji). */
  content?: ReactNode;
  /** Makes it a menuitemcheckbox with this state. */
  checked?: boolean;
  onSelect(): void;
}

/** Where the menu opens: under its button, or above it unless the scrolling list around
 *  it has no room there ("auto", for rows of a list). */
export type MenuPlacement = "below" | "auto";

/** Room (px) a menu needs above its button to open there. */
const ROOM_ABOVE = 72;

/**
 * A button that opens a menu (the WAI-ARIA menu button pattern): `aria-haspopup`,
 * `aria-expanded`; in the menu the arrows (and Home, End, a letter) move between items,
 * Enter or Space picks one, Escape closes it and gives the focus back to the button, Tab
 * closes it and moves on. A click outside closes it.
 */
export function MenuButton(props: {
  /** The button's accessible name. */
  label: string;
  /** The button's content (an icon; decorative). */
  children: ReactNode;
  items: readonly MenuItem[];
  orientation?: "vertical" | "horizontal";
  placement?: MenuPlacement;
  className?: string;
  buttonClassName?: string;
  menuClassName?: string;
  /** Also set to the button (to give it the focus back from elsewhere). */
  buttonRef?: RefObject<HTMLButtonElement | null>;
  /** A tooltip for the button. */
  title?: string;
}) {
  const id = useId();
  const { items } = props;
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [above, setAbove] = useState(false);
  const wrapper = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement | null>(null);
  const itemRefs = useRef<(HTMLButtonElement | null)[]>([]);

  // Focus follows the active item while the menu is open.
  useEffect(() => {
    if (open) itemRefs.current[active]?.focus();
  }, [open, active]);

  // A press anywhere else closes it.
  useEffect(() => {
    if (!open) return;
    const outside = (event: PointerEvent) => {
      if (!wrapper.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", outside, true);
    return () => document.removeEventListener("pointerdown", outside, true);
  }, [open]);

  function show(index: number) {
    if (items.length === 0) return;
    if (props.placement === "auto" && button.current) {
      const scroller = button.current.closest<HTMLElement>('[role="log"]');
      const top = Math.max(scroller?.getBoundingClientRect().top ?? 0, 0);
      setAbove(button.current.getBoundingClientRect().top - top >= ROOM_ABOVE);
    } else {
      setAbove(false);
    }
    setActive(Math.min(Math.max(index, 0), items.length - 1));
    setOpen(true);
  }

  function close(refocus: boolean) {
    setOpen(false);
    if (refocus) button.current?.focus();
  }

  function pick(item: MenuItem) {
    close(true);
    item.onSelect();
  }

  const menuId = `${id}-menu`;
  const buttonId = `${id}-button`;
  const orientation = props.orientation ?? "vertical";
  return (
    <div
      ref={wrapper}
      className={`menu${props.className ? ` ${props.className}` : ""}${open ? " menu-open" : ""}`}
      onBlur={(event) => {
        const next = event.relatedTarget as Node | null;
        if (open && next && !wrapper.current?.contains(next)) setOpen(false);
      }}
    >
      <button
        ref={(el) => {
          button.current = el;
          if (props.buttonRef) props.buttonRef.current = el;
        }}
        id={buttonId}
        type="button"
        className={props.buttonClassName}
        aria-label={props.label}
        title={props.title ?? props.label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => (open ? close(false) : show(0))}
        onKeyDown={(event) => {
          if (event.key === "ArrowDown" || event.key === "ArrowUp") {
            event.preventDefault();
            show(event.key === "ArrowDown" ? 0 : items.length - 1);
          }
        }}
      >
        {props.children}
      </button>
      {open && (
        <div
          id={menuId}
          role="menu"
          aria-labelledby={buttonId}
          aria-orientation={orientation}
          className={`menu-popup ${above ? "menu-above" : "menu-below"} menu-${orientation}${
            props.menuClassName ? ` ${props.menuClassName}` : ""
          }`}
          onKeyDown={(event) => {
            const move = menuKey(event.key, active, items.length);
            if (move === "close") {
              event.preventDefault();
              event.stopPropagation();
              close(true);
            } else if (move === "leave") {
              setOpen(false);
            } else if (move !== null) {
              event.preventDefault();
              setActive(move);
            } else if (event.key.length === 1 && /\S/.test(event.key) && !event.ctrlKey && !event.metaKey) {
              const found = typeAhead(
                items.map((i) => i.label),
                active,
                event.key,
              );
              if (found >= 0) setActive(found);
            }
          }}
        >
          {items.map((item, index) => (
            <button
              key={item.key}
              ref={(el) => {
                itemRefs.current[index] = el;
              }}
              type="button"
              role={item.checked === undefined ? "menuitem" : "menuitemcheckbox"}
              aria-checked={item.checked}
              aria-label={item.content ? item.label : undefined}
              title={item.content ? item.label : undefined}
              tabIndex={index === active ? 0 : -1}
              className="menu-item"
              onClick={() => pick(item)}
              onFocus={() => setActive(index)}
            >
              {item.content ?? item.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
