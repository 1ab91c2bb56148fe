//! Templates: Liquid for CRM data plus the widget's `{tokens}`, compiled once and rendered per recipient, HTML-safe.
