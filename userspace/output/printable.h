// SPDX-License-Identifier: Apache-2.0
#pragma once

// Text from the node, made safe for a terminal. Process names, paths and
// command lines are written by containers: an ESC sequence in a comm could
// rewrite the operator's screen, a newline in a mount point could forge a
// line of the table. Every field shown as text goes through printable().

#include <string>
#include <string_view>

namespace mountleak {

// `text` with every C0 control (newline and tab included), DEL, C1 control
// and byte that is not part of valid UTF-8 written as \xNN, and a backslash
// as \\, so that the result is one line, shows no escape sequence, and says
// exactly which bytes were there. Valid printable UTF-8 is kept as it is.
std::string printable(std::string_view text);

// The same for a whole rendered block whose own line breaks must stay:
// everything printable() escapes except '\n'. A last guard, not a
// substitute for printable() on each field.
std::string terminal_safe(std::string_view block);

// The length of the valid UTF-8 sequence at text[i], or 0 if there is none
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t utf8_sequence_length(std::string_view text, size_t i);

bool valid_utf8(std::string_view text);

}  // namespace mountleak
