#pragma once
// One escaper per output format, each with its own rule for characters the format cannot carry.
// Every string that comes from a plan, a target or the host (names, URLs, function names, error
// text) goes through the escaper of the format it is written into.

#include <string>
#include <string_view>

namespace memstrain {

/// HTML and SVG content and attribute values: & < > " ' as entities; control characters other
/// than tab and newline (not allowed in HTML text) become a space.
std::string htmlEscape(std::string_view text);

/// XML 1.0 text and double-quoted attributes: the five special characters as entities; control
/// characters other than tab and newline (not allowed in XML 1.0) become '?'.
std::string xmlEscape(std::string_view text);

/// A Markdown table cell: '|' would end the cell (escaped as "\|") and a line break the row (CR
/// and LF become a space).
std::string markdownCell(std::string_view text);

/// A Prometheus label value (text exposition format): backslash, double quote and newline
/// escaped as \\, \" and \n.
std::string prometheusLabel(std::string_view text);
/// A Prometheus HELP text: backslash and newline escaped (quotes are fine there).
std::string prometheusHelp(std::string_view text);

}  // namespace memstrain
