//! Triggers: the launch rules of the widget, automated-click detection and the actions they run.
