mod search_params;
mod structure;
