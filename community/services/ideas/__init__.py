"""The idea exchange: posting, voting, comments and following, status changes, merging, listings and export."""
