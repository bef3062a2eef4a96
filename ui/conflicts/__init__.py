"""The conflicts panel and its parts: wording, the list model, the card, the decision dialogs, and
the revealer that shows a conflict's booking on the board."""
