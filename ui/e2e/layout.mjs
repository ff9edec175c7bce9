// Layout checks the browser and app end-to-end runs share; each runs in the page.

/** Every finding's Accept and Reject buttons on one row, side by side. */
export function acceptBesideReject() {
  return [...document.querySelectorAll(".finding")].every((f) => {
    const accept = f.querySelector("button.accept").getBoundingClientRect();
    const reject = f.querySelector("button.reject").getBoundingClientRect();
    return accept.top === reject.top && accept.right <= reject.left;
  });
}

/** Every finding's status badge on the first line of its card, level with its number. */
export function statusOnFirstLine() {
  return [...document.querySelectorAll(".finding")].every((f) => {
    const number = f.querySelector(".line1 strong").getBoundingClientRect();
    const badge = f.querySelector(".badge").getBoundingClientRect();
    return badge.top < number.bottom && badge.bottom > number.top;
  });
}
