// Filled in by the nn work. 
export {};
