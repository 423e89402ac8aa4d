"""The designer's screens: the main one and the modal dialogs."""
