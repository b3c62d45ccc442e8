enum NetStackTestSupportPlaceholder {}
