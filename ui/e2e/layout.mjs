// Layout checks the browser and app end-to-end runs share; each runs in the page.

/** Every finding's Accept and Reject buttons on one row, side by side. */
export function acceptBesideReject() {
  return [...document.querySelectorAll(".finding")].every((f) => {
    const accept = f.querySelector("button.accept").getBoundingClientRect();
    const reject = f.querySelector("button.reject").getBoundingClientRect();
    return accept.top === reject.top && accept.right <= reject.left;
  });
}
