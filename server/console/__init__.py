"""The console: people sign in, see their notebook instances and Open one in a new tab."""
